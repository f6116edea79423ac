"""Training many runs as one model (issue 21): K runs of one architecture stacked into one network.

``grouped.py`` turns K members' networks into one of grouped layers, each member keeping its own weights,
batch-norm statistics and gradients, and gives each member's weights back under its solo names; ``optim.py``'s
``MemberAdam`` updates each member as its own Adam would, with its own lr and betas, and freezes a diverged
one. The ensemble trainer and the ``--ensemble`` execution path build on them.
"""
