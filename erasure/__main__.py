from erasure.cli import command

command()
