import numpy as np
import pytest

from sic.data.skeleton import LAYOUTS, SkeletonLayout, get_layout


@pytest.mark.parametrize("name", ["h36m17", "smpl24", "smpl22", "ntu25", "cmu31"])
def test_layout_is_a_tree(name):
    layout = get_layout(name)
    assert len(layout.names) == len(layout.parents) == layout.num_joints
    order = layout.depth_order()
    position = {j: i for i, j in enumerate(order)}
    for child, parent in enumerate(layout.parents):
        if parent >= 0:
            assert position[parent] < position[child]
    assert layout.bones.shape == (layout.num_joints - 1, 2)
    # a tree has J-1 edges and is connected: the Laplacian has exactly one zero eigenvalue
    eig = np.linalg.eigvalsh(layout.laplacian.astype(np.float64))
    assert np.sum(eig < 1e-6) == 1 and np.allclose(layout.laplacian, layout.laplacian.T)


@pytest.mark.parametrize("name", ["h36m17", "smpl24", "ntu25", "cmu31"])
def test_flip_pairs_are_left_right(name):
    layout = get_layout(name)
    perm = layout.flip_permutation
    assert np.array_equal(perm[perm], np.arange(layout.num_joints))  # an involution
    for left, right in layout.flip_pairs:
        assert layout.names[left].lower().replace("left", "l").startswith("l") or "L" in layout.names[left]
        assert layout.names[left] != layout.names[right]


def test_known_values():
    h36m = get_layout("h36m17")
    assert h36m.parents == (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15)
    assert h36m.flip_permutation[4] == 1 and h36m.flip_permutation[16] == 13
    assert get_layout("smpl24").names[21] == "R_wrist" and get_layout("smpl22").num_joints == 22
    assert get_layout("cmu31").parents[24] == 13 and get_layout("ntu25").num_joints == 25
    assert h36m.adjacency[8, 11] == 1 and h36m.adjacency[11, 8] == 1 and h36m.adjacency[0, 8] == 0


def test_errors_name_the_problem():
    with pytest.raises(KeyError, match="unknown joint layout 'h37m'.*h36m17"):
        get_layout("h37m")
    with pytest.raises(ValueError, match="cycle"):
        SkeletonLayout("bad", ("a", "b", "c"), (-1, 2, 1))
    with pytest.raises(ValueError, match="exactly one root"):
        SkeletonLayout("bad", ("a", "b"), (-1, -1))
    with pytest.raises(KeyError, match="no joint 'Tail'"):
        get_layout("h36m17").index("Tail")
    assert set(LAYOUTS) >= {"h36m17", "smpl24", "ntu25", "cmu31"}
