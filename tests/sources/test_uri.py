"""Source strings: parsing, dispatch to the right source, and malformed strings."""

from __future__ import annotations

import pytest

from dreamlink.errors import InputFileError, SourceError
from dreamlink.sources.brainflow import BrainFlowSource
from dreamlink.sources.file import FileSource
from dreamlink.sources.lsl import LSLSource
from dreamlink.sources.uri import open_source, parse_source
from tests.sources.test_file import write_counter_edf


@pytest.fixture(scope="module")
def small_edf(tmp_path_factory):
    path = tmp_path_factory.mktemp("uri") / "small.edf"
    write_counter_edf(path, 2560)
    return path


def test_file_forms_dispatch_to_file_source(small_edf):
    for uri in (f"file:{small_edf}", str(small_edf)):
        src = open_source(uri, speed=None)
        assert isinstance(src, FileSource)
        assert src.info.n_channels == 3
        assert src.n_total == 2560


def test_file_inline_params(small_edf):
    spec = parse_source(f"file:{small_edf}:picks=counter,speed=4")
    assert spec.kind == "file"
    src = open_source(spec)
    assert src.info.ch_names == ("counter",)
    assert src.speed == 4.0


def test_brainflow_and_lsl_dispatch():
    assert isinstance(open_source("brainflow:-1"), BrainFlowSource)
    src = open_source("lsl:SomeStream:type=EEG,timeout=0.2")
    assert isinstance(src, LSLSource)
    assert (src.name, src.stype, src.timeout) == ("SomeStream", "EEG", 0.2)
    with pytest.raises(SourceError, match="known once the source is open"):
        _ = src.info


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("", "unknown source"),
        ("camera", "unknown source 'camera'; use sim"),
        ("file:", "file source needs a path"),
        ("brainflow:", "brainflow source needs a target"),
        ("brainflow:-1:serial_port", "bad source parameter 'serial_port'"),
        ("lsl:", "lsl source needs a target"),
        ("lsl:X:timeout", "bad source parameter"),
    ],
)
def test_malformed_source_strings(uri, message):
    with pytest.raises(SourceError, match=message):
        open_source(uri)


def test_file_that_does_not_exist_names_the_path(tmp_path):
    with pytest.raises(InputFileError, match="recording not found: .*absent.edf"):
        open_source(f"file:{tmp_path / 'absent.edf'}")
