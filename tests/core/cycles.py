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


inits: list[str] = []


@Injectable()
class Owner:
    def __init__(self, keeper: Keeper) -> None:
        inits.append("Owner")
        self.keeper = keeper


@Injectable()
class Keeper:
    def __init__(self, ledger: Ledger) -> None:
        inits.append("Keeper")
        self.ledger = ledger


@Injectable()
class Ledger:
    owner: Annotated[Owner, Inject(forward_ref(lambda: Owner))]  # property back edge

    def __init__(self, first: Annotated[Owner, Inject(forward_ref(lambda: Owner))]) -> None:
        inits.append("Ledger")
        self.first = first


@Module(providers=[Owner, Keeper, Ledger])
class LedgerModule:
    pass
