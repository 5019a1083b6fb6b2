import numpy as np

import synth
from modebench_report.crossover import find_crossings


def curves(f, g, batches, processes, noise, seed):
    rng = np.random.default_rng(seed)
    a = {b: list(f(b) * rng.lognormal(0, noise, processes)) for b in batches}
    c = {b: list(g(b) * rng.lognormal(0, noise, processes)) for b in batches}
    return a, c


def test_known_crossing_inside_interval():
    # cpu_time = 1e-4 b, gpu_time = 4e-4 sqrt(b): equal at b = 16.
    for seed in range(5):
        a, b = curves(synth.cpu_time, synth.gpu_time, synth.BATCHES, 8, 0.05, seed)
        xs, agreement = find_crossings(a, b, np.random.default_rng(seed))
        assert len(xs) == 1
        x = xs[0]
        assert x.ci[0] <= 16 <= x.ci[1]
        assert 8 <= x.batch <= 32 and x.between in ((8, 16), (16, 32))
        assert x.faster_below == "a" and not x.ambiguous


def test_crossing_between_grid_points():
    # t_a = 1e-3 b^0.8, t_b = 5e-3 b^0.4: equal at b = 5^(1/0.4) = 55.9, between 32 and 64.
    a, b = curves(lambda x: 1e-3 * x**0.8, lambda x: 5e-3 * x**0.4, synth.BATCHES, 10, 0.03, 7)
    xs, _ = find_crossings(a, b, np.random.default_rng(1))
    assert len(xs) == 1 and xs[0].between == (32, 64)
    assert xs[0].ci[0] <= 55.9 <= xs[0].ci[1]


def test_no_crossing():
    a, b = curves(lambda x: 1e-3 * x, lambda x: 2e-3 * x, synth.BATCHES, 6, 0.03, 3)
    xs, agreement = find_crossings(a, b, np.random.default_rng(0))
    assert xs == [] and agreement > 0.99


def test_ambiguous_when_resamples_disagree():
    # Identical curves: noise alone makes crossings come and go.
    a, b = curves(lambda x: 1e-3 * x, lambda x: 1e-3 * x, synth.BATCHES, 6, 0.05, 4)
    xs, agreement = find_crossings(a, b, np.random.default_rng(0))
    assert agreement < 0.9
    assert all(x.ambiguous for x in xs)


def test_fewer_than_three_processes_give_no_interval():
    # Two processes per batch: a point estimate, no CI, no agreement, never a zero-width interval.
    a, b = curves(synth.cpu_time, synth.gpu_time, synth.BATCHES, 2, 0.05, 0)
    xs, agreement = find_crossings(a, b, np.random.default_rng(0))
    assert agreement is None and len(xs) == 1
    assert xs[0].ci is None and xs[0].agreement is None and xs[0].processes == 2 and xs[0].within_process is None
    assert 8 <= xs[0].batch <= 32


def test_one_process_with_repetitions_gives_a_within_process_spread_only():
    a, b = curves(synth.cpu_time, synth.gpu_time, synth.BATCHES, 1, 0.05, 0)
    a_reps, b_reps = curves(synth.cpu_time, synth.gpu_time, synth.BATCHES, 5, 0.05, 1)
    xs, agreement = find_crossings(a, b, np.random.default_rng(0), a_reps=a_reps, b_reps=b_reps)
    (x,) = xs
    assert agreement is None and x.ci is None and x.processes == 1
    assert x.within_process[0] <= 16 <= x.within_process[1]
    assert x.as_dict()["ci"] is None and x.as_dict()["within_process"] == list(x.within_process)


def test_three_processes_are_enough_for_an_interval():
    a, b = curves(synth.cpu_time, synth.gpu_time, synth.BATCHES, 3, 0.05, 2)
    (x,), agreement = find_crossings(a, b, np.random.default_rng(0))
    assert agreement is not None and x.ci[0] <= x.batch <= x.ci[1] and x.processes == 3
