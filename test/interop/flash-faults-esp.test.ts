// Flash fault trials on the simulated tincan-s3 (see flash-faults.ts).
import { faultTests } from "./flash-faults.ts";

faultTests("tincan-s3");
