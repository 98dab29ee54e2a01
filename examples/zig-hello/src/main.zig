//! A WASI command: prints a greeting, then its arguments.
const std = @import("std");

pub fn main(init: std.process.Init) !void {
    var buffer: [1024]u8 = undefined;
    var stdout = std.Io.File.stdout().writer(init.io, &buffer);
    const out = &stdout.interface;
    try out.print("hello from Zig\n", .{});
    const args = try init.minimal.args.toSlice(init.arena.allocator());
    for (args[1..], 1..) |arg, i| {
        try out.print("arg {d}: {s}\n", .{ i, arg });
    }
    try out.flush();
}
