"""``python3 -m services.hive``."""

from services.common.service import main
from services.hive.app import run

main("hive", run)
