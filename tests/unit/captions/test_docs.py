import doctest
from pathlib import Path

DOC = Path(__file__).resolve().parents[3] / "docs" / "methods" / "pose-captions.md"


def test_pose_captions_doc_example_runs():
    result = doctest.testfile(str(DOC), module_relative=False, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 5 and result.failed == 0
