"""Translation, the second task: a model maps samples of domain A to domain B and back (CycleGAN, pix2pix).

``train.py`` trains one run (the methods' named steps), ``evaluate.py`` scores both directions against their
target domains, ``run.py`` is what :func:`ganbench.run_one.execute` hands a domain pair to. The data is
:mod:`ganbench.data.pairs`, the nets :mod:`ganbench.nets.translation`, the metrics
:mod:`ganbench.metrics.translation`; docs/translation.md describes the whole.
"""
