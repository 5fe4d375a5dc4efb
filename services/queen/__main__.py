"""``python3 -m services.queen``."""

from services.common.service import main
from services.queen.app import run

main("queen", run)
