"""The composition layer: the only code that wires the gateway and the services together.

`stack` starts them as processes on one machine (`imagewave serve`), `in_process` calls the
services' serving objects directly (`imagewave compose`), `evaluation` scores engines on a
golden set. The CLI (`imagewave.cli`) sits on top of this layer too.
"""
