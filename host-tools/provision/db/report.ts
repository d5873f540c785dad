// tincan factory report: what is (devices by state and board, from the devices table) and what
// happened (provisioned and failed per day and per station, failure reasons, from the audit
// log: a board that failed twice and then passed counts two failures and one provisioning).

import type Database from "better-sqlite3";
import { DEVICE_STATES, FactoryDbError, type DeviceState } from "./rows.ts";

export interface FactoryReport {
  devices: number;
  byState: Record<DeviceState, number>;
  byBoard: { board: string; devices: number; provisioned: number; failed: number }[];
  byDay: { day: string; allocated: number; provisioned: number; failed: number }[];
  byStation: { station: string; allocated: number; provisioned: number; failed: number }[];
  /** Failure reasons, most frequent first (at most 20). */
  failures: { reason: string; count: number; last: string }[];
}

const FAILED_EVENTS = "('device.failed', 'board.failed')";

export function buildReport(conn: Database.Database): FactoryReport {
  return conn.transaction(() => {
    const corrupt = conn.prepare(`SELECT id, serial, state FROM devices WHERE state NOT IN (${DEVICE_STATES.map((s) => `'${s}'`).join(", ")}) LIMIT 1`).get() as
      | { id: number; serial: string; state: unknown }
      | undefined;
    if (corrupt !== undefined)
      throw new FactoryDbError(`devices row ${corrupt.id} (${String(corrupt.serial).slice(0, 20)}): state ${JSON.stringify(String(corrupt.state).slice(0, 20))} is not one of ${DEVICE_STATES.join(", ")}; the row was edited outside tincan (run tincan factory verify)`, "corrupt");

    const byState = Object.fromEntries(DEVICE_STATES.map((s) => [s, 0])) as Record<DeviceState, number>;
    for (const r of conn.prepare("SELECT state, count(*) AS n FROM devices GROUP BY state").all() as { state: DeviceState; n: number }[]) byState[r.state] = r.n;
    const devices = Object.values(byState).reduce((a, b) => a + b, 0);

    const byBoard = conn.prepare(
      `SELECT board, count(*) AS devices, sum(state = 'provisioned') AS provisioned, sum(state = 'failed') AS failed
       FROM devices GROUP BY board ORDER BY board`,
    ).all() as FactoryReport["byBoard"];

    const events = `sum(event = 'device.allocated') AS allocated, sum(event = 'device.provisioned') AS provisioned, sum(event IN ${FAILED_EVENTS}) AS failed`;
    const byDay = conn.prepare(
      `SELECT substr(at, 1, 10) AS day, ${events} FROM audit GROUP BY day HAVING allocated + provisioned + failed > 0 ORDER BY day`,
    ).all() as FactoryReport["byDay"];
    const byStation = conn.prepare(
      `SELECT station, ${events} FROM audit GROUP BY station HAVING allocated + provisioned + failed > 0 ORDER BY station`,
    ).all() as FactoryReport["byStation"];
    const failures = conn.prepare(
      `SELECT CASE WHEN json_valid(data) THEN json_extract(data, '$.reason') END AS reason, count(*) AS count, max(at) AS last FROM audit
       WHERE event IN ${FAILED_EVENTS} GROUP BY reason ORDER BY count DESC, reason LIMIT 20`,
    ).all() as FactoryReport["failures"];
    return { devices, byState, byBoard, byDay, byStation, failures };
  })();
}
