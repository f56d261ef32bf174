import nestpy
import nestpy.testing


def test_nestpy_all_is_sorted_and_complete() -> None:
    exported = nestpy.__all__
    assert exported == sorted(exported)
    public = {
        name
        for name, value in vars(nestpy).items()
        if not name.startswith("_") and not isinstance(value, type(nestpy))
    }
    assert set(exported) == public


def test_nestpy_testing_exports_the_testing_module_api() -> None:
    assert {"Test", "TestingModule", "TestingModuleBuilder"} <= set(nestpy.testing.__all__)
    for name in nestpy.testing.__all__:
        assert hasattr(nestpy.testing, name)
