"""Cached jobs on an executor: each job (a JSON-able dict) is computed once per version of
the sources that change its result, in a local process pool or on a Dask cluster, with one
progress line per finished job on stderr."""

import contextlib
import glob
import hashlib
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed

from sim.params import ParamError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sources_digest(patterns):
    """sha256 over the files matching `patterns` (globs relative to the project root)."""
    digest = hashlib.sha256()
    for pattern in patterns:
        for path in sorted(glob.glob(os.path.join(ROOT, pattern))):
            with open(path, "rb") as f:
                digest.update(f.read())
    return digest.hexdigest()


def job_key(job, digest):
    """Cache key of a job: its JSON and the digest of the sources it depends on."""
    return hashlib.sha256((json.dumps(job, sort_keys=True) + digest).encode()).hexdigest()[:20]


def run_jobs(fn, jobs, executor, cache, sources, describe, ignore=()):
    """`fn(job)` for every job on `executor`, cached as JSON under the folder `cache` by
    `job_key` of the job without its `ignore` fields (those that do not change the result);
    `describe(job, result)` is the progress line's text. Results in job order."""
    digest = sources_digest(sources)
    paths = [os.path.join(cache, f"{job_key({k: v for k, v in job.items() if k not in ignore}, digest)}.json")
             for job in jobs]
    results, start, done = [None] * len(jobs), time.time(), 0

    def progress(i, cached):
        nonlocal done
        done += 1
        print(f"[{done}/{len(jobs)}] {describe(jobs[i], results[i])}{' (cached)' if cached else ''}"
              f"  [{time.time() - start:.0f} s]", file=sys.stderr, flush=True)

    futures = {}
    for i, (job, path) in enumerate(zip(jobs, paths)):
        if os.path.exists(path):
            with open(path) as f:
                results[i] = json.load(f)
            progress(i, True)
        else:
            futures[executor.submit(fn, job)] = i
    for future in as_completed(futures):
        i = futures[future]
        results[i] = future.result()
        os.makedirs(cache, exist_ok=True)
        with open(paths[i] + ".tmp", "w") as f:     # whole or not at all: an interrupted run leaves no half file
            json.dump(results[i], f)
        os.replace(paths[i] + ".tmp", paths[i])
        progress(i, False)
    return results


@contextlib.contextmanager
def executor(dask_address=None, workers=None):
    """A concurrent.futures executor: a local pool of `workers` processes, or a Dask cluster's."""
    if dask_address is None:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            yield pool
        return
    try:
        from distributed import Client
    except ImportError:
        raise ParamError("dask", dask_address, text="{name} needs the distributed package: "
                         "pip install -e '.[flow]'") from None
    try:
        client = Client(dask_address, timeout=10)
    except OSError as e:
        raise ParamError("dask", dask_address, text="{name} {value}: cannot connect ({why})", why=e) from None
    try:
        with client.get_executor() as pool:
            yield pool
    finally:
        client.close()
