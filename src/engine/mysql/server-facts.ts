// Facts about a MySQL/MariaDB server read over SQL: version, identity, binlog and GTID state.

import type { Connection } from 'mysql2/promise';
import { FLAVOURS, flavourOfVersion } from './flavours.js';
import type { MysqlFlavour } from './flavours.js';

export interface MysqlServerFacts {
  version: string;
  /** e.g. 101119 for 10.11.19 */
  versionNum: number;
  flavour: MysqlFlavour;
  /** MySQL: server_uuid; MariaDB (which has none): server_uid */
  systemId: string;
  logBin: boolean;
  /** MariaDB gtid_binlog_pos; MySQL gtid_executed */
  gtid: string;
  datadir: string;
}

export function versionNumber(version: string): number {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  return m ? Number(m[1]) * 10000 + Number(m[2]) * 100 + Number(m[3]) : 0;
}

async function variable(conn: Connection, name: string): Promise<string | undefined> {
  const [rows] = await conn.query('SHOW GLOBAL VARIABLES LIKE ?', [name]);
  const row = (rows as Array<{ Value?: string | null }>)[0];
  return row?.Value ?? undefined;
}

export async function serverFacts(conn: Connection): Promise<MysqlServerFacts> {
  const version = (await variable(conn, 'version')) ?? '';
  const flavour = flavourOfVersion(version);
  const systemId = (await variable(conn, 'server_uuid')) ?? (await variable(conn, 'server_uid')) ?? '';
  const logBin = ((await variable(conn, 'log_bin')) ?? 'OFF').toUpperCase() === 'ON';
  const gtid = (await variable(conn, FLAVOURS[flavour].gtidVariable)) ?? '';
  const datadir = (await variable(conn, 'datadir')) ?? '';
  return { version, versionNum: versionNumber(version), flavour, systemId, logBin, gtid, datadir };
}
