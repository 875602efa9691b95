import { _setPreopens } from '@bytecodealliance/preview2-shim/filesystem';
_setPreopens({ '/sandbox': process.env.SANDBOX_DIR });
