import pytest

from bench.registry import DuplicateNameError, Registry, UnknownNameError


def make():
    reg = Registry("model")
    for name in ["dense_ae", "conv_ae", "denoising_ae", "vae"]:
        reg.register(name, description=f"{name} desc")(lambda: None)
    return reg


def test_wildcards_and_exclude_keep_registration_order():
    reg = make()
    assert reg.names("*") == ["dense_ae", "conv_ae", "denoising_ae", "vae"]
    assert reg.names(["*_ae"], exclude=["de*"]) == ["conv_ae"]
    assert reg.names(["vae", "conv*"]) == ["conv_ae", "vae"]


def test_unknown_name_suggests_close_matches_and_lists_all():
    reg = make()
    with pytest.raises(UnknownNameError) as info:
        reg.get("conv_aa")
    message = str(info.value)
    assert "did you mean 'conv_ae'" in message.lower()
    assert "vae" in message and "dense_ae" in message


def test_a_pattern_that_matches_nothing_is_an_error():
    reg = make()
    with pytest.raises(UnknownNameError):
        reg.names(["vea"])
    with pytest.raises(UnknownNameError, match="'gan\\*' matches no model"):
        reg.names(["gan*"])  # a wildcard typo would silently select nothing
    with pytest.raises(UnknownNameError, match="matches no model"):
        reg.names(["*"], exclude=["gan*"])


def test_duplicate_name_fails_at_registration():
    reg = make()
    with pytest.raises(DuplicateNameError, match="already registered"):
        reg.register("vae")(lambda: None)


def test_description_defaults_to_docstring_first_line():
    reg = Registry("thing")

    @reg.register("x")
    def builder():
        """First line.

        More."""

    assert reg.get("x").description == "First line."
