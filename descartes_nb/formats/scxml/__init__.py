"""SCXML <-> definitions: the datamodel-free part of the W3C recommendation."""
