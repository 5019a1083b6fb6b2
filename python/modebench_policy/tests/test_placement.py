"""The placement plan's shortest path, on synthetic layer and transfer times whose best
placement is known by hand, and against exhaustive search on small random models."""

import itertools
import random

import make_vectors  # noqa: F401  first: puts this checkout's package on the path
import pytest

from modebench_policy.placement import DEVICE, HOST, bandwidth_transfer, evaluate, plan_placement, single_mode_plans


def flat_transfer(ms):
    return lambda i, a, b: 0.0 if a == b else ms


def gpu_model_with_one_slow_layer(slow_gpu_ms):
    """Three layers of a device-resident model; the middle one is slow on the gpu, 1 ms on the cpu."""
    return [{"cpu": 5.0, "gpu": 1.0}, {"cpu": 1.0, "gpu": slow_gpu_ms}, {"cpu": 5.0, "gpu": 1.0}]


def test_moving_one_slow_layer_costs_two_transfers_and_is_not_worth_it_when_they_cost_more():
    layers = gpu_model_with_one_slow_layer(slow_gpu_ms=4.0)  # saves 3 ms, costs 2 x 2 ms
    p = plan_placement(layers, flat_transfer(2.0), start=DEVICE)
    assert p.modes == ("gpu", "gpu", "gpu") and p.total_ms == 6.0 and p.transfers == 0


def test_moving_it_is_worth_it_when_the_transfers_cost_less_than_it_saves():
    layers = gpu_model_with_one_slow_layer(slow_gpu_ms=4.0)  # saves 3 ms, costs 2 x 1 ms
    p = plan_placement(layers, flat_transfer(1.0), start=DEVICE)
    assert p.modes == ("gpu", "cpu", "gpu") and p.total_ms == 5.0 and p.transfers == 2


def test_the_input_and_output_sides_count():
    # Everything faster on the gpu by 1 ms per layer, but the data starts and ends on the host
    # and a transfer costs 2 ms: two layers do not pay for the two transfers; five do.
    two = [{"cpu": 2.0, "gpu": 1.0}] * 2
    assert plan_placement(two, flat_transfer(2.0), start=HOST).modes == ("cpu", "cpu")
    five = [{"cpu": 2.0, "gpu": 1.0}] * 5
    assert plan_placement(five, flat_transfer(2.0), start=HOST).modes == ("gpu",) * 5


def test_a_layer_that_cannot_run_in_a_mode_is_placed_elsewhere():
    layers = [{"cpu": 3.0, "gpu": 1.0}, {"cpu": 1.0, "gpu": None}, {"cpu": 3.0, "gpu": 1.0}]
    assert plan_placement(layers, flat_transfer(0.5), start=DEVICE).modes == ("gpu", "cpu", "gpu")
    with pytest.raises(ValueError, match="layer 1 can run in no mode"):
        plan_placement([{"cpu": 1.0}, {"gpu": None}], flat_transfer(0.5))


def test_ties_go_to_the_safer_mode():
    assert plan_placement([{"cpu": 1.0, "gpu": 1.0, "hybrid": 1.0}], flat_transfer(0.0)).modes == ("cpu",)


def test_hybrid_keeps_data_on_the_device():
    # hybrid costs its own copies (in its time) but needs no transfer from a gpu neighbour.
    layers = [{"gpu": 1.0}, {"hybrid": 2.0, "cpu": 1.5}, {"gpu": 1.0}]
    assert plan_placement(layers, flat_transfer(1.0), start=DEVICE).modes == ("gpu", "hybrid", "gpu")


def test_bandwidth_transfer_uses_each_layers_input_size():
    t = bandwidth_transfer([1e9, 2e9, 4e9], gbps=10.0, latency_ms=0.01)
    assert t(1, HOST, HOST) == 0.0 and t(1, HOST, DEVICE) == pytest.approx(200.01)


@pytest.mark.parametrize("seed", range(200))
def test_the_plan_is_the_best_of_every_placement(seed):
    rng = random.Random(seed)
    modes = ["cpu", "gpu", "hybrid"]
    layers = [{m: (rng.uniform(0.1, 5.0) if rng.random() > 0.15 else None) for m in modes} for _ in range(rng.randint(1, 6))]
    for lt in layers:
        if all(v is None for v in lt.values()):
            lt["cpu"] = 1.0
    sizes = [rng.uniform(0.0, 3e6) for _ in range(len(layers) + 1)]
    transfer = bandwidth_transfer(sizes, gbps=rng.uniform(0.5, 20.0), latency_ms=rng.uniform(0.0, 0.5))
    start = rng.choice([HOST, DEVICE])
    best = min(
        (evaluate(layers, transfer, p, start) for p in itertools.product(*[[m for m, t in lt.items() if t is not None] for lt in layers])),
        key=lambda p: p.total_ms,
    )
    got = plan_placement(layers, transfer, start)
    assert got.total_ms == pytest.approx(best.total_ms)
    assert got.total_ms == pytest.approx(sum(got.layer_ms) + sum(got.transfer_ms))


def test_single_mode_plans_cover_the_modes_every_layer_has():
    layers = [{"cpu": 1.0, "gpu": 2.0}, {"cpu": 1.0, "gpu": 1.0, "hybrid": 3.0}]
    plans = single_mode_plans(layers, flat_transfer(1.0), start=HOST)
    assert set(plans) == {"cpu", "gpu"} and plans["cpu"].total_ms == 2.0 and plans["gpu"].total_ms == 5.0
