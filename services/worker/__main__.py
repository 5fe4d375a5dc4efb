"""``python3 -m services.worker``."""

from services.common.service import main
from services.worker.app import run

main("worker", run)
