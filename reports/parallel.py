"""Jobs in a local process pool, with one progress line per finished job on stderr."""

import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed


def run_parallel(fn, jobs, workers, describe):
    """`fn(job) -> (result, cached?)` for every job; `describe(job, result)` is the
    progress line's text. Returns the results in job order."""
    results, start = [None] * len(jobs), time.time()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(fn, job): i for i, job in enumerate(jobs)}
        for done, future in enumerate(as_completed(futures), 1):
            i = futures[future]
            results[i], cached = future.result()
            print(f"[{done}/{len(jobs)}] {describe(jobs[i], results[i])}{' (cached)' if cached else ''}"
                  f"  [{time.time() - start:.0f} s]", file=sys.stderr, flush=True)
    return results
