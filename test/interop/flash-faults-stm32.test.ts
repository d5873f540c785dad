// Flash fault trials on the simulated tincan-h7 (see flash-faults.ts).
import { faultTests } from "./flash-faults.ts";

faultTests("tincan-h7");
