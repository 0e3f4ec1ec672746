"""The Teams app package: manifest template, icons and the package build."""
