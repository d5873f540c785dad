// The terminal, for what must not be echoed or put on the command line (passphrases, PINs,
// passwords).

/** One line from the terminal in raw mode (so nothing is echoed); Ctrl-C or Ctrl-D aborts. */
export async function promptHidden(prompt: string, interrupted: () => Error = () => new Error("interrupted")): Promise<string> {
  const stdin = process.stdin;
  // Raw mode before the prompt: whatever is typed once it shows is never echoed.
  stdin.setRawMode(true);
  process.stderr.write(prompt);
  stdin.resume();
  try {
    return await new Promise<string>((resolve, reject) => {
      let typed = "";
      const onData = (chunk: Buffer) => {
        for (const ch of chunk.toString("utf8")) {
          if (ch === "\r" || ch === "\n") {
            stdin.off("data", onData);
            process.stderr.write("\n");
            resolve(typed);
            return;
          }
          if (ch === "\u0003" || ch === "\u0004") {
            stdin.off("data", onData);
            process.stderr.write("\n");
            reject(interrupted());
            return;
          }
          typed = ch === "\u007f" || ch === "\b" ? typed.slice(0, -1) : typed + ch;
        }
      };
      stdin.on("data", onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
  }
}
