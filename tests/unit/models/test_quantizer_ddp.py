"""The EMA codebook under DDP: statistics summed over ranks, resets broadcast, one codebook everywhere."""

import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from sic.models import EMAQuantizer

pytestmark = pytest.mark.distributed


def _worker(rank: int, world: int, port: int, out: str) -> None:
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    try:
        torch.manual_seed(rank)  # different local RNG streams: only broadcasts can make the codebooks agree
        q = EMAQuantizer(codebook_size=4, dim=2, decay=0.5)
        data = torch.randn(2, 32, 2, generator=torch.Generator().manual_seed(1))
        for batch in data:
            q(batch[rank * 16 : (rank + 1) * 16])  # each rank sees its own half
        torch.save({"embedding": q.embedding, "count": q.ema_count}, f"{out}/rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def test_ranks_keep_one_codebook_fed_by_the_global_batch(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(_worker, args=(2, port, str(tmp_path)), nprocs=2, join=True)
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    assert torch.equal(r0["embedding"], r1["embedding"]) and torch.equal(r0["count"], r1["count"])
    # after init (count 1 per code) one update with decay 0.5: 0.5 * 4 + 0.5 * (vectors counted) (+ resets);
    # counting only the local 16 vectors would give at most 0.5 * 4 + 0.5 * 16 + 2 = 12
    assert r0["count"].sum() >= 0.5 * 4 + 0.5 * 32
