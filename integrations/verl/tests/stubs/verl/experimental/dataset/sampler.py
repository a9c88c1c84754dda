"""Test stand-in with verl's interface (verl/experimental/dataset/sampler.py), minus torch's Sampler base."""
from abc import ABC, abstractmethod


class AbstractSampler(ABC):
    @abstractmethod
    def __init__(self, data_source, data_config):
        pass


class AbstractCurriculumSampler(AbstractSampler):
    @abstractmethod
    def update(self, batch) -> None:
        pass
