"""The Teams app package: manifest template, icons and the package build.

``python -m manifest`` (or ``script/package``) builds ``build/appPackage.zip``; see
``manifest.build``. ``manifest.icons`` draws the two icons (it needs Pillow; the build does not).
"""
