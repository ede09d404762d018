"""feedback: customer-satisfaction surveys and the loop after the score.

Data flows one way: collect -> store -> analyze -> deliver and show.
Imports flow one way too: ``web``/``cli`` -> ``services`` -> ``models``; ``analysis`` is pure.
"""

__version__ = "0.1.0"
