// as-pect runs the firmware's core specs in test/firmware/. The cores never touch the HAL,
// so the specs need no board: only as-pect's own imports.
export default {
  entries: ["test/firmware/**/*.spec.ts"],
  include: ["test/firmware/**/*.include.ts"],
  disclude: [/node_modules/],
    async instantiate(memory, createImports, instantiate, binary) {
    return instantiate(binary, createImports({ env: { memory } }));
  },
  outputBinary: false,
};
