#!/usr/bin/env python3
"""Print the classes in a Trino plugin jar that implement io.trino.spi.Plugin, one per line.

Trino's build writes META-INF/services/io.trino.spi.Plugin into a separate
"<artifact>-<version>-services.jar" when it packages a plugin; the plugin jar on Maven
Central does not carry it. tests/trino/assemble-server.sh uses this to write that file
when it has to assemble a plugin directory from the jar and its dependencies.

A class counts if it is concrete and io.trino.spi.Plugin is among its interfaces, directly
or through superclasses / superinterfaces defined in the same jar. Reads the class files'
constant pools only (no JVM needed, any class-file version).

usage: find-plugin-classes.py PLUGIN.jar
"""
import struct
import sys
import zipfile

PLUGIN = "io/trino/spi/Plugin"
ACC_INTERFACE = 0x0200
ACC_ABSTRACT = 0x0400


def parse(data):
    if data[:4] != b"\xca\xfe\xba\xbe":
        return None
    count = struct.unpack_from(">H", data, 8)[0]
    utf8, classes = {}, {}
    pos, i = 10, 1
    while i < count:
        tag = data[pos]
        pos += 1
        if tag == 1:
            length = struct.unpack_from(">H", data, pos)[0]
            utf8[i] = data[pos + 2:pos + 2 + length].decode("utf-8", "replace")
            pos += 2 + length
        elif tag == 7:
            classes[i] = struct.unpack_from(">H", data, pos)[0]
            pos += 2
        elif tag in (8, 16, 19, 20):
            pos += 2
        elif tag == 15:
            pos += 3
        elif tag in (3, 4, 9, 10, 11, 12, 17, 18):
            pos += 4
        elif tag in (5, 6):
            pos += 8
            i += 1
        else:
            raise ValueError("unknown constant pool tag %d" % tag)
        i += 1
    access, this_idx, super_idx, n_ifaces = struct.unpack_from(">HHHH", data, pos)
    pos += 8
    ifaces = struct.unpack_from(">%dH" % n_ifaces, data, pos)

    def name(idx):
        return utf8[classes[idx]] if idx else None

    return name(this_idx), access, name(super_idx), [name(x) for x in ifaces]


def main():
    types = {}
    with zipfile.ZipFile(sys.argv[1]) as jar:
        for entry in jar.namelist():
            if entry.endswith(".class") and not entry.startswith("META-INF/"):
                parsed = parse(jar.read(entry))
                if parsed:
                    types[parsed[0]] = parsed[1:]

    def implements_plugin(name, seen=()):
        if name == PLUGIN:
            return True
        if name not in types or name in seen:
            return False
        _, sup, ifaces = types[name]
        return any(implements_plugin(t, seen + (name,)) for t in [sup, *ifaces] if t)

    found = sorted(n.replace("/", ".") for n, (acc, _, _) in types.items()
                   if not acc & (ACC_INTERFACE | ACC_ABSTRACT) and implements_plugin(n))
    print("\n".join(found))
    return 0 if found else 1


if __name__ == "__main__":
    sys.exit(main())
