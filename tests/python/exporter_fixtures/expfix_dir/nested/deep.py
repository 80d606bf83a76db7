from ..side import SIDE

value = "deep+" + SIDE
