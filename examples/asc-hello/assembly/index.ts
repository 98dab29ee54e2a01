// A WASI command: @assemblyscript/wasi-shim turns console.log into WASI's fd_write.
console.log("hello from AssemblyScript");
const args = process.argv;
for (let i = 1; i < args.length; i++) {
  console.log(`arg ${i}: ${args[i]}`);
}
