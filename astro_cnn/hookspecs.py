"""The hooks a plugin may implement: everything a plugin can add to astro_cnn is listed here.

A plugin is a module (or object) with functions of these names decorated with
:data:`astro_cnn.hookimpl`, made known through the ``astro_cnn`` entry-point group::

    [options.entry_points]
    astro_cnn =
        lsst = astro_cnn_lsst.plugin

Each hook returns a list (possibly empty) of specifications; astro_cnn collects the lists of
every plugin, and two plugins offering the same name for the same kind is an error naming both
distributions.
"""

import pluggy

hookspec = pluggy.HookspecMarker("astro_cnn")


@hookspec
def astro_cnn_surveys():
    """Return the surveys this plugin provides.

    Returns
    -------
    list of astro_cnn.SurveySpec
        Each names a survey and gives a factory returning an :class:`astro_cnn.Survey`.
    """


@hookspec
def astro_cnn_quantities():
    """Return the physical quantities this plugin can predict.

    Returns
    -------
    list of astro_cnn.Quantity
        Name, unit, kind (regression or binned PDF), label columns, valid range and the
        default survey, backbone, head and recipe used to train a model for it.
    """


@hookspec
def astro_cnn_backbones():
    """Return the network backbones (feature extractors) this plugin provides.

    Returns
    -------
    list of astro_cnn.BackboneSpec
        Each names a backbone and gives a factory
        ``build(in_channels, image_size, weights=None) -> torch.nn.Module``.
    """


@hookspec
def astro_cnn_heads():
    """Return the network heads (feature vector to quantity) this plugin provides.

    Returns
    -------
    list of astro_cnn.HeadSpec
        Each names a head and gives a factory building a ``torch.nn.Module``.
    """


@hookspec
def astro_cnn_recipes():
    """Return the named training recipes (optimiser, schedule, epochs, batch size) this plugin provides.

    Returns
    -------
    list of astro_cnn.RecipeSpec
    """


@hookspec
def astro_cnn_predictor_types():
    """Return the :class:`astro_cnn.Predictor` subclasses this plugin provides.

    A saved model records the name of its predictor type; loading it looks the name up here.

    Returns
    -------
    list of astro_cnn.PredictorTypeSpec
    """


@hookspec
def astro_cnn_models():
    """Return the trained models this plugin ships.

    Returns
    -------
    list of astro_cnn.ModelSpec
        Name, quantity, path of the saved model file and of its model card.
    """
