from __future__ import annotations

import inspect

import ekyc.errors as errors_module
from ekyc.errors import EkycError, InputError, ModelError


def _classes() -> list[type[EkycError]]:
    return [
        c for _, c in inspect.getmembers(errors_module, inspect.isclass) if issubclass(c, EkycError)
    ]


def test_every_error_has_a_unique_stable_code():
    codes = [c.code for c in _classes()]
    assert len(codes) == len(set(codes))
    assert all(code.replace("_", "").isalpha() and code.islower() for code in codes)


def test_codes_the_contracts_name():
    codes = {c.code for c in _classes()}
    assert codes >= {
        "unsupported_format",
        "image_too_large",
        "decompression_bomb",
        "corrupt_image",
        "step_not_allowed",
        "model_not_found",
        "checksum_mismatch",
    }


def test_tree_is_drawn_in_the_docstring():
    doc = errors_module.__doc__ or ""
    for cls in _classes():
        assert cls.__name__ in doc
        assert cls.code in doc


def test_context_is_keyword_only_and_kept():
    err = errors_module.DecompressionBomb("too big", width=10, height=20)
    assert isinstance(err, InputError)
    assert not isinstance(err, ModelError)
    assert err.context == {"width": 10, "height": 20}
    assert str(err) == "too big"
