"""Test stand-in for verl's DataProto (see ../README.md)."""


class Tensorish:
    """The slice of torch.Tensor the sampler touches: .sum(-1) over the last axis and .tolist()."""

    def __init__(self, rows):
        self.rows = [list(r) if isinstance(r, (list, tuple)) else r for r in rows]

    def sum(self, dim):
        assert dim == -1
        return Tensorish([sum(r) if isinstance(r, list) else r for r in self.rows])

    def tolist(self):
        return list(self.rows)


class DataProto:
    def __init__(self, batch=None, non_tensor_batch=None):
        self.batch = batch or {}
        self.non_tensor_batch = non_tensor_batch or {}
