"""The garbage collector of a server process (config/asgi.py, config/wsgi.py).

Python collects its youngest objects after every 700 new ones, and older generations
every 10 collections of the one below (its defaults). A page of the monthly meeting makes
some 600,000 objects, most of them alive until the page is written, so the collector ran
hundreds of times per page walking the same live objects: at a million cases the
meeting's median was 210 ms and one page in ten took 300 to 400 ms, in the collector
(docs/deploy.md). With the youngest generation collected every 50,000 objects, the pages
stay near their median; a process holds a few more megabytes of young objects between
collections. Reference cycles are still collected, as before."""

from __future__ import annotations

import gc

THRESHOLDS = (50_000, 20, 10)


def tune() -> None:
    gc.set_threshold(*THRESHOLDS)
