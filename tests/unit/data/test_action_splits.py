import pytest

from sic.data.action_splits import CLASS_NAMES, SPLITS, get_split, random_split
from sic.utils.errors import ConfigError

# The SynSE / Neuron / STAR lists (0-indexed), as published.
PUBLISHED = {
    "ntu60-55-5": [10, 11, 19, 26, 56],
    "ntu60-48-12": [3, 5, 9, 12, 15, 40, 42, 47, 51, 56, 58, 59],
    "ntu120-110-10": [4, 13, 37, 43, 49, 65, 88, 95, 99, 106],
    "ntu120-96-24": [5, 9, 11, 16, 18, 20, 22, 29, 35, 39, 45, 49, 59, 68, 70, 81, 84, 87, 93, 94, 104, 113, 114, 119],
    "pku51-46-5": [1, 9, 20, 34, 50],
    "pku51-39-12": [3, 7, 11, 15, 19, 21, 25, 31, 33, 36, 43, 48],
    "ntu60-55-5-r1": [4, 19, 31, 47, 51],
    "ntu120-110-10-r3": [6, 20, 27, 33, 42, 55, 71, 97, 104, 118],
    "pku51-46-5-r2": [2, 15, 39, 41, 43],
}


def test_class_lists_have_the_official_sizes_and_unique_names():
    assert {k: len(v) for k, v in CLASS_NAMES.items()} == {"ntu60": 60, "ntu120": 120, "pku51": 51, "procedural": 17}
    for names in CLASS_NAMES.values():
        assert len(set(names)) == len(names)
    ntu = CLASS_NAMES["ntu120"]
    assert (
        ntu[0] == "drink water"
        and ntu[59] == "walking apart from each other"
        and ntu[119].startswith("finger-guessing")
    )
    assert ntu[24] == "put something inside pocket / take out something from pocket"
    pku = CLASS_NAMES["pku51"]
    assert pku == tuple(sorted(pku))  # PKU-MMD ids follow the alphabetical order of the names
    assert pku[1] == "brushing hair" and pku[50] == "writing"


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_published_unseen_lists(name):
    assert list(get_split(name).unseen) == PUBLISHED[name]


@pytest.mark.parametrize("name", sorted(SPLITS))
def test_seen_unseen_and_validation_partition_the_classes(name):
    s = SPLITS[name]
    seen, unseen, val = set(s.seen), set(s.unseen), set(s.validation)
    assert not seen & unseen and seen | unseen == set(range(s.num_classes))
    assert val <= seen and val
    n_seen, n_unseen = (int(x) for x in name.split("-")[1:3])
    assert (len(seen), len(unseen)) == (n_seen, n_unseen)


def test_named_splits_and_their_class_names():
    s = get_split("ntu60-55-5")
    assert [s.class_names[i] for i in s.unseen] == ["reading", "writing", "put on a hat/cap", "jump up",
                                                    "touch other person's pocket"]  # fmt: skip
    assert s.validation == (16, 21, 25, 31, 48)  # SynSE rv5_0
    assert get_split("ntu60-48-12").validation == (4, 8, 10, 13, 17, 22, 30, 33, 39, 46, 50, 54)
    p = get_split("procedural-13-4")
    assert [p.class_names[i] for i in p.unseen] == sorted(
        ["run", "stand_up", "wave_right_hand", "jumping_jacks"], key=p.class_names.index
    )


def test_random_splits_are_seeded_and_checked():
    a, b = random_split("ntu60", 5, seed=3), random_split("ntu60", 5, seed=3)
    assert a == b and a != random_split("ntu60", 5, seed=4)
    assert len(a.unseen) == 5 and len(a.validation) == 5 and not set(a.unseen) & set(a.validation)
    with pytest.raises(ConfigError, match="num_unseen"):
        random_split("pku51", 51, seed=0)
    with pytest.raises(ConfigError, match="unknown dataset"):
        random_split("kinetics", 5, seed=0)


def test_unknown_split_lists_the_known_ones():
    with pytest.raises(ConfigError, match="ntu60-55-5"):
        get_split("ntu60-50-10")
