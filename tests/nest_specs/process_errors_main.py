"""The app of nestjs/nest ``integration/hooks/src/enable-process-error-handlers-main.ts``.

``python process_errors_main.py EVENT MODE [EXIT_CODE]``: EVENT is ``uncaught_exception`` or
``unhandled_rejection``, MODE ``log`` or ``shutdown``.
"""

from __future__ import annotations

import asyncio
import gc
import sys
from typing import Any

from nestpy import Injectable, Module, NestFactory

EVENT = sys.argv[1]
MODE = sys.argv[2]
EXIT_CODE = int(sys.argv[3]) if len(sys.argv) > 3 else None


@Injectable()
class TestInjectable:
    def before_application_shutdown(self, signal: str | None = None) -> None:
        print(f"before_application_shutdown {signal}", flush=True)

    def on_application_shutdown(self, signal: str | None = None) -> None:
        print(f"on_application_shutdown {signal}", flush=True)


@Module(providers=[TestInjectable])
class AppModule: ...


async def main() -> None:
    app = await NestFactory.create_application_context(AppModule)

    async def handler(error: BaseException, controls: Any) -> None:
        print(f"handler {EVENT} {error}", flush=True)
        if MODE == "shutdown":
            await (controls.shutdown(EXIT_CODE) if EXIT_CODE else controls.shutdown())

    app.enable_process_error_handlers({EVENT: handler})
    loop = asyncio.get_running_loop()
    if EVENT == "uncaught_exception":

        def boom() -> None:
            raise RuntimeError("boom")

        loop.call_later(0.01, boom)
    else:

        async def fail() -> None:
            raise RuntimeError("boom")

        task = asyncio.ensure_future(fail())
        await asyncio.sleep(0.01)
        del task
        gc.collect()  # the unretrieved exception is reported when the task is collected
    await asyncio.sleep(0.2)
    print("still alive", flush=True)


asyncio.run(main())
