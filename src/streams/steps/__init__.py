"""Pure pipeline steps: values in, values out. They never produce, commit or sleep."""
