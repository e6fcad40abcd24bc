"""Helpers of the course notebooks: running them with papermill, their static pages, quiet logs, damaged tables.

They are for learning kfx, not part of the library a team imports; nothing in
``kfx`` outside this package imports them.
"""
