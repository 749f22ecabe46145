"""The guard language of Swarm.toml: the parser (``_parser``) and the tree (``_tree``)."""
