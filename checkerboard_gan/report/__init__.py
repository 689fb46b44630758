"""`python -m checkerboard_gan.report`: the article's claims, run on this machine and judged.

studies.py runs the studies (Hydra experiment configs) as multiruns, reading.py reads their run
folders, init_claims.py and trained_claims.py turn them into figures, tables and checks,
verdicts.py decides the rules, claims.py assembles the sections, document.py renders them to
HTML and Markdown, command.py is the command line. Nothing here re-runs a model.
"""
