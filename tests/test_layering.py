import subprocess
import sys


def test_importing_core_loads_neither_paho_nor_the_mqtt_transport() -> None:
    code = (
        "import sys, nestpy, nestpy.testing, nestpy.microservices\n"
        "bad = sorted(m for m in sys.modules if m.startswith(('paho', 'nestpy_mqtt')))\n"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
