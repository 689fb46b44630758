"""`python -m checkerboard_gan.report`: the article's six claims, run on this machine and judged.

studies.py runs the Hydra multiruns, claims.py reads their runs into figures, tables and
verdicts, document.py renders them to HTML and Markdown, command.py is the command line.
"""
