"""Module-level classes for test_forward_ref: cycles need names that exist at bootstrap."""

from __future__ import annotations

from typing import Annotated

from nestpy import Inject, Injectable, Module, forward_ref


@Injectable()
class CatsService:
    def __init__(self, dogs: Annotated[DogsService, Inject(forward_ref(lambda: DogsService))]):
        self.dogs = dogs


@Injectable()
class DogsService:
    def __init__(self, cats: Annotated[CatsService, Inject(forward_ref(lambda: CatsService))]):
        self.cats = cats


@Injectable()
class Chicken:
    def __init__(self, egg: Egg) -> None:
        self.egg = egg


@Injectable()
class Egg:
    def __init__(self, chicken: Chicken) -> None:
        self.chicken = chicken


@Module(imports=[forward_ref(lambda: DogsModule)], providers=[CatsService], exports=[CatsService])
class CatsModule:
    pass


@Module(imports=[forward_ref(lambda: CatsModule)], providers=[DogsService], exports=[DogsService])
class DogsModule:
    pass


@Module(imports=[CatsModule])
class PetsApp:
    pass


@Module(providers=[Chicken, Egg])
class FarmModule:
    pass
