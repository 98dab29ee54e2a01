"""The embedded compiler: a typed subset of Python, read with ``ast``, to WebAssembly text.

One pass over each function checks types, tracks which variables are definitely assigned and
emits stack-machine code; the runtime (:mod:`.runtime`) and, when the module prints or runs as a
command, the WASI output functions (:mod:`.wasi`) are appended; ``wasmtime.wat2wasm`` assembles
the result. Anything outside the subset raises :class:`.errors.CompileError`.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass, field

from wasmrun.languages.python import runtime, wasi
from wasmrun.languages.python.errors import CompileError, error_at, unsupported
from wasmrun.languages.python.types import ANNOTATIONS, EXPORTABLE, I64_MAX, I64_MIN, PyType, fits_i64

INT, FLOAT, BOOL, STR, NONE = PyType.INT, PyType.FLOAT, PyType.BOOL, PyType.STR, PyType.NONE
Code = list[str]

#: Node classes the compiler accepts somewhere (each still only in the forms it understands).
SUPPORTED_NODES: frozenset[type[ast.AST]] = frozenset({
    ast.Module, ast.FunctionDef, ast.Return, ast.Assign, ast.AugAssign, ast.AnnAssign, ast.For, ast.While,
    ast.If, ast.Assert, ast.Import, ast.ImportFrom, ast.Expr, ast.Pass, ast.Break, ast.Continue,
    ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.IfExp, ast.Compare, ast.Call, ast.Constant, ast.Attribute,
    ast.Name, ast.Tuple, ast.Load, ast.Store, ast.And, ast.Or, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Mod,
    ast.Pow, ast.LShift, ast.RShift, ast.BitOr, ast.BitXor, ast.BitAnd, ast.FloorDiv, ast.Invert, ast.Not,
    ast.UAdd, ast.USub, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.arguments, ast.arg,
    ast.keyword, ast.alias,
})

_RESERVED_EXPORTS = {"memory", "_start"}
_MATH_CONSTANTS = {"pi": math.pi, "e": math.e, "tau": math.tau, "inf": math.inf, "nan": math.nan}
_MATH_FUNCS = ("sqrt", "floor", "ceil", "trunc", "fabs", "copysign", "isnan", "isinf", "isfinite")
_CMP_I64 = {ast.Eq: "i64.eq", ast.NotEq: "i64.ne", ast.Lt: "i64.lt_s", ast.LtE: "i64.le_s", ast.Gt: "i64.gt_s",
            ast.GtE: "i64.ge_s"}
_CMP_F64 = {ast.Eq: "f64.eq", ast.NotEq: "f64.ne", ast.Lt: "f64.lt", ast.LtE: "f64.le", ast.Gt: "f64.gt",
            ast.GtE: "f64.ge"}
_FLIPPED: dict[type[ast.cmpop], type[ast.cmpop]] = {ast.Eq: ast.Eq, ast.NotEq: ast.NotEq, ast.Lt: ast.Gt,
                                                     ast.LtE: ast.GtE, ast.Gt: ast.Lt, ast.GtE: ast.LtE}
_OP_SYMBOLS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%",
               ast.Pow: "**", ast.LShift: "<<", ast.RShift: ">>", ast.BitOr: "|", ast.BitXor: "^",
               ast.BitAnd: "&", ast.MatMult: "@"}


@dataclass
class Function:
    """A top-level function's signature."""

    name: str
    params: list[tuple[str, PyType]]
    ret: PyType
    node: ast.FunctionDef | None

    @property
    def exported(self) -> bool:
        return all(t in EXPORTABLE for _, t in self.params) and self.ret in EXPORTABLE


@dataclass
class CompiledModule:
    """The compiler's output: WebAssembly text and what the module offers."""

    wat: str
    functions: dict[str, Function]
    exports: list[str]
    command: bool  # has a WASI _start
    wasi: bool  # imports WASI (prints, or is a command)

    def wasm(self) -> bytes:
        """Assemble with wasmtime's ``wat2wasm``."""
        import wasmtime

        return bytes(wasmtime.wat2wasm(self.wat))


def compile_source(source: str, filename: str = "main.py") -> CompiledModule:
    """Compile a module's source; raises :class:`CompileError` for anything outside the subset."""
    try:
        tree = ast.parse(source, filename=filename)
    except SyntaxError as exc:
        raise CompileError(filename, exc.lineno or 1, exc.offset or 1, f"syntax error: {exc.msg}",
                           "valid Python 3 syntax") from None
    return ModuleCompiler(tree, filename).compile()


def compile_to_wasm(source: str, filename: str = "main.py") -> bytes:
    return compile_source(source, filename).wasm()


def _wat_string(data: bytes) -> str:
    return "".join(f"\\{b:02x}" for b in data)


def _f64_literal(value: float) -> str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value.hex()


class ModuleCompiler:
    """Module level: functions, constants, the ``__main__`` block, strings, and the final text."""

    def __init__(self, tree: ast.Module, filename: str) -> None:
        self.tree = tree
        self.filename = filename
        self.functions: dict[str, Function] = {}
        self.constants: dict[str, tuple[PyType, int | float | bool | str]] = {}
        self.strings: dict[str, int] = {}
        self.data: list[tuple[int, bytes]] = []
        self.next_data = runtime.DATA_START
        self.math_imported = False
        self.main_block: list[ast.stmt] | None = None
        self.uses_print = False

    # -- helpers ------------------------------------------------------------------------------------

    def error(self, node: ast.AST | None, construct: str, supported: str) -> CompileError:
        return error_at(self.filename, node, construct, supported)

    def intern(self, text: str) -> int:
        """The address of a string constant: [i32 byte length][i32 length][UTF-8 bytes]."""
        if text not in self.strings:
            raw = text.encode("utf-8", errors="surrogatepass")
            blob = len(raw).to_bytes(4, "little") + len(text).to_bytes(4, "little") + raw
            self.strings[text] = self.next_data
            self.data.append((self.next_data, blob))
            self.next_data += (len(blob) + 7) // 8 * 8
        return self.strings[text]

    def site(self, node: ast.AST) -> int:
        return self.intern(f"{self.filename}:{getattr(node, 'lineno', 1)}:{getattr(node, 'col_offset', 0) + 1}")

    # -- the module ---------------------------------------------------------------------------------

    def compile(self) -> CompiledModule:
        for stmt in self.tree.body:
            self.top_level(stmt)
        bodies: list[str] = []
        for fn in self.functions.values():
            assert fn.node is not None
            bodies.append(FunctionCompiler(self, fn, fn.node.body, fn.node).emit())
        command = self.main_block is not None or "main" in self.functions
        if self.main_block is not None:
            block = Function("__main__", [], NONE, None)
            bodies.append(FunctionCompiler(self, block, self.main_block, None).emit())
        elif "main" in self.functions:
            main = self.functions["main"]
            if main.params:
                raise self.error(main.node, "main() with parameters",
                                 "def main() -> None, reading no parameters (it becomes the WASI _start)")
        exports = [name for name, fn in self.functions.items() if fn.exported]
        uses_wasi = command or self.uses_print
        return CompiledModule(self.assemble(bodies, exports, command, uses_wasi), dict(self.functions),
                              exports, command, uses_wasi)

    def assemble(self, bodies: list[str], exports: list[str], command: bool, uses_wasi: bool) -> str:
        parts = ["(module"]
        if uses_wasi:
            parts.append(wasi.IMPORTS)
        # the runtime interns its messages: generate it before the data segments are written out
        runtime_text = [runtime.error_functions(uses_wasi), runtime.core(self.intern)]
        if uses_wasi:
            runtime_text.append(wasi.io(self.intern))
        pages = max(1, -(-self.next_data // 65536))
        parts.append(f'(memory (export "memory") {pages})')
        parts += runtime_text
        parts += bodies
        for name in exports:
            parts.append(f'(export "{name}" (func $f_{name}))')
        if command:
            entry = "$f___main__" if self.main_block is not None else "$f_main"
            flush = "(call $__flush)" if uses_wasi else ""
            parts.append(f'(func $_start (export "_start") (call {entry}) {flush})')
        for address, blob in self.data:
            parts.append(f'(data (i32.const {address}) "{_wat_string(blob)}")')
        parts.append(")")
        return "\n".join(parts)

    def top_level(self, stmt: ast.stmt) -> None:
        if isinstance(stmt, ast.FunctionDef):
            self.declare_function(stmt)
        elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str):
            return  # docstring
        elif isinstance(stmt, ast.Import):
            for alias in stmt.names:
                if alias.name != "math" or alias.asname not in (None, "math"):
                    raise self.error(stmt, f"construct 'import {alias.name}' is not supported",
                                     "import math")
            self.math_imported = True
        elif isinstance(stmt, ast.ImportFrom):
            if stmt.module == "__future__" and all(a.name == "annotations" for a in stmt.names):
                return
            raise unsupported(self.filename, stmt)
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            self.declare_constant(stmt)
        elif isinstance(stmt, ast.If) and self.is_main_guard(stmt):
            if self.main_block is not None:
                raise self.error(stmt, "a second if __name__ == '__main__': block", "one such block")
            self.main_block = stmt.body
        elif isinstance(stmt, ast.Pass):
            return
        elif type(stmt) in SUPPORTED_NODES:
            raise self.error(stmt, f"construct {type(stmt).__name__} at module level is not supported",
                             "functions, constants, import math, and code inside main() or "
                             "if __name__ == '__main__':")
        else:
            raise unsupported(self.filename, stmt)

    @staticmethod
    def is_main_guard(stmt: ast.If) -> bool:
        test = stmt.test
        return (not stmt.orelse and isinstance(test, ast.Compare) and isinstance(test.left, ast.Name)
                and test.left.id == "__name__" and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)
                and isinstance(test.comparators[0], ast.Constant) and test.comparators[0].value == "__main__")

    def annotation(self, node: ast.expr | None, what: str, owner: ast.AST) -> PyType | None:
        if node is None:
            return None
        name = node.id if isinstance(node, ast.Name) else (
            node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None)
        if isinstance(node, ast.Constant) and node.value is None:
            name = "None"
        if name not in ANNOTATIONS:
            raise self.error(node, f"type annotation '{ast.unparse(node)}' for {what} is not supported",
                             "int, float, bool, str, or None for a return")
        return ANNOTATIONS[name]

    def declare_function(self, node: ast.FunctionDef) -> None:
        args = node.args
        if node.decorator_list:
            raise self.error(node.decorator_list[0], "construct decorator is not supported", "a plain def")
        if args.vararg or args.kwarg or args.kwonlyargs or args.posonlyargs or args.defaults:
            raise self.error(node, f"parameters of '{node.name}' beyond plain positional ones (defaults, "
                                   "*args, **kwargs, keyword-only, positional-only)",
                             "plain annotated positional parameters")
        if node.name in self.functions:
            raise self.error(node, f"second definition of '{node.name}'", "one def per name")
        if node.name in _RESERVED_EXPORTS:
            raise self.error(node, f"function name '{node.name}' (reserved for the module's exports)",
                             "another name")
        params: list[tuple[str, PyType]] = []
        for arg in args.args:
            ptype = self.annotation(arg.annotation, f"parameter '{arg.arg}'", arg)
            if ptype is None or ptype is NONE:
                raise self.error(arg, f"parameter '{arg.arg}' of '{node.name}' without an int, float, bool or "
                                      "str annotation", f"def {node.name}({arg.arg}: int, ...)")
            params.append((arg.arg, ptype))
        ret = self.annotation(node.returns, f"the return of '{node.name}'", node)
        if ret is None:
            if node.name == "main" and not params:
                ret = NONE
            else:
                raise self.error(node, f"function '{node.name}' without a return annotation",
                                 f"def {node.name}(...) -> int (or float, bool, str, None)")
        self.functions[node.name] = Function(node.name, params, ret, node)

    def declare_constant(self, stmt: ast.Assign | ast.AnnAssign) -> None:
        target = stmt.targets[0] if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 else (
            stmt.target if isinstance(stmt, ast.AnnAssign) else None)
        if not isinstance(target, ast.Name) or stmt.value is None:
            raise self.error(stmt, "module-level assignment other than NAME = constant expression",
                             "NAME = 42, NAME: float = 1.5, or NAME = OTHER * 2")
        if target.id in self.constants or target.id in self.functions:
            raise self.error(stmt, f"second assignment to module-level name '{target.id}'",
                             "constants assigned once")
        value = self.fold(stmt.value)
        vtype = _type_of(value)
        if isinstance(stmt, ast.AnnAssign):
            declared = self.annotation(stmt.annotation, f"constant '{target.id}'", stmt)
            if declared is not vtype:
                raise self.error(stmt, f"constant '{target.id}' annotated {declared} but its value is {vtype}",
                                 f"a {declared} value")
        self.constants[target.id] = (vtype, value)

    def fold(self, node: ast.expr) -> int | float | bool | str:
        """Evaluate a module-level constant expression with Python's own semantics."""
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str)):
            value: int | float | bool | str = node.value
        elif isinstance(node, ast.Name) and node.id in self.constants:
            value = self.constants[node.id][1]
        elif (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "math"
              and node.attr in _MATH_CONSTANTS and self.math_imported):
            value = _MATH_CONSTANTS[node.attr]
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd, ast.Invert, ast.Not)):
            operand = self.fold(node.operand)
            value = self.fold_apply(node, lambda: _unary(node.op, operand))
        elif isinstance(node, ast.BinOp) and type(node.op) in _OP_SYMBOLS and not isinstance(node.op, ast.MatMult):
            left, right = self.fold(node.left), self.fold(node.right)
            value = self.fold_apply(node, lambda: _binary(node.op, left, right))
        else:
            raise self.error(node, f"module-level value '{ast.unparse(node)}' that is not a constant expression",
                             "literals, other constants and arithmetic on them")
        if isinstance(value, int) and not isinstance(value, bool) and not fits_i64(value):
            raise self.error(node, f"constant {value} beyond 64 bits", f"ints in [{I64_MIN}, {I64_MAX}]")
        return value

    def fold_apply(self, node: ast.expr, thunk: object) -> int | float | bool | str:
        assert callable(thunk)
        try:
            value = thunk()
        except (ArithmeticError, TypeError, ValueError) as exc:
            raise self.error(node, f"constant expression '{ast.unparse(node)}' fails: {exc}",
                             "a constant expression that evaluates") from None
        if not isinstance(value, (int, float, str)):
            raise self.error(node, f"constant expression of type {type(value).__name__}", "int, float, bool, str")
        return value


def _type_of(value: object) -> PyType:
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int):
        return INT
    if isinstance(value, float):
        return FLOAT
    return STR


def _unary(op: ast.unaryop, v: object) -> object:
    if isinstance(op, ast.Not):
        return not v
    if isinstance(v, str):
        raise TypeError("bad operand type for unary operator: 'str'")
    if isinstance(op, ast.USub):
        return -v  # type: ignore[operator]
    if isinstance(op, ast.UAdd):
        return +v  # type: ignore[operator]
    return ~v  # type: ignore[operator]


def _binary(op: ast.operator, a: object, b: object) -> object:
    import operator

    fn = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
          ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
          ast.LShift: operator.lshift, ast.RShift: operator.rshift, ast.BitOr: operator.or_,
          ast.BitXor: operator.xor, ast.BitAnd: operator.and_}[type(op)]
    if isinstance(a, str) or isinstance(b, str):
        raise TypeError("string arithmetic is not supported")
    return fn(a, b)


@dataclass
class _Loop:
    brk: str
    cont: str
    broke: bool = False


@dataclass
class FunctionCompiler:
    """One function's body: types, definite assignment and code."""

    module: ModuleCompiler
    fn: Function
    body: list[ast.stmt]
    node: ast.FunctionDef | None
    locals: dict[str, PyType] = field(default_factory=dict)
    assigned_at: dict[str, int] = field(default_factory=dict)
    temps: list[tuple[str, str]] = field(default_factory=list)
    loops: list[_Loop] = field(default_factory=list)
    labels: int = 0

    # -- helpers ------------------------------------------------------------------------------------

    @property
    def filename(self) -> str:
        return self.module.filename

    def error(self, node: ast.AST | None, construct: str, supported: str) -> CompileError:
        return self.module.error(node, construct, supported)

    def temp(self, wasm_type: str) -> str:
        name = f"$t{len(self.temps)}"
        self.temps.append((name, wasm_type))
        return name

    def label(self, kind: str) -> str:
        self.labels += 1
        return f"${kind}{self.labels}"

    def emit(self) -> str:
        params = dict(self.fn.params)
        for name, ptype in self.fn.params:
            self.locals[name] = ptype
        if len(params) != len(self.fn.params):
            raise self.error(self.node, f"repeated parameter name in '{self.fn.name}'", "distinct names")
        code: Code = []
        end = self.block(self.body, set(params), code)
        if end is not None and self.fn.ret is not NONE:
            raise self.error(self.node, f"function '{self.fn.name}' can reach its end without returning "
                                        f"a {self.fn.ret}", "a return statement on every path")
        if end is None and self.fn.ret is not NONE:
            code.append("unreachable")
        head = [f"(func $f_{self.fn.name}"]
        head += [f"(param $v_{name} {ptype.wasm})" for name, ptype in self.fn.params]
        if self.fn.ret is not NONE:
            head.append(f"(result {self.fn.ret.wasm})")
        decls = [f"(local $v_{name} {t.wasm})" for name, t in self.locals.items() if name not in params]
        decls += [f"(local {name} {wtype})" for name, wtype in self.temps]
        return "\n".join([" ".join(head), *decls, *code, ")"])

    # -- statements ---------------------------------------------------------------------------------

    def block(self, stmts: list[ast.stmt], assigned: set[str], code: Code) -> set[str] | None:
        """Compile statements; the names definitely assigned after them, or None when control
        cannot reach their end."""
        current: set[str] | None = set(assigned)
        for stmt in stmts:
            if current is None:
                current = set(assigned)  # unreachable code: still compiled, checked as if reachable
            current = self.stmt(stmt, current, code)
        return current

    def stmt(self, node: ast.stmt, assigned: set[str], code: Code) -> set[str] | None:
        method = getattr(self, f"stmt_{type(node).__name__}", None)
        if method is None:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                raise self.error(node, "construct import inside a function is not supported",
                                 "import math at the top of the module")
            if isinstance(node, ast.FunctionDef):
                raise self.error(node, "construct nested def is not supported", "a top-level def")
            raise unsupported(self.filename, node)
        result: set[str] | None = method(node, assigned, code)
        return result

    def stmt_Pass(self, node: ast.Pass, assigned: set[str], code: Code) -> set[str]:
        return assigned

    def stmt_Expr(self, node: ast.Expr, assigned: set[str], code: Code) -> set[str]:
        if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            return assigned  # docstring
        if not isinstance(node.value, ast.Call):
            raise self.error(node, "expression statement that is not a call",
                             "calls such as print(...) or f(...); assign other values")
        part, ptype = self.expr(node.value, assigned)
        code += part
        if ptype is not NONE:
            code.append("drop")
        return assigned

    def assign_name(self, target: ast.Name, vtype: PyType, node: ast.AST, assigned: set[str], code: Code) -> None:
        name = target.id
        if name in ("print", "range", "math") or (name in self.module.constants and name not in self.locals):
            raise self.error(target, f"assignment to '{name}'", "a new variable name")
        known = self.locals.get(name)
        if known is None:
            if vtype is NONE:
                raise self.error(node, f"assigning None to '{name}'", "int, float, bool or str values")
            self.locals[name] = vtype
            self.assigned_at[name] = getattr(node, "lineno", 0)
        elif known is not vtype:
            where = self.assigned_at.get(name)
            first = f" at line {where}" if where else " (a parameter)"
            raise self.error(node, f"variable '{name}' is {known}{first} but is assigned a {vtype} here",
                             f"one type per variable (convert with {known}(...), or use a new name)")
        code.append(f"local.set $v_{name}")
        assigned.add(name)

    def stmt_Assign(self, node: ast.Assign, assigned: set[str], code: Code) -> set[str]:
        if len(node.targets) != 1:
            raise self.error(node, "chained assignment a = b = value", "one assignment per target")
        target = node.targets[0]
        if isinstance(target, ast.Name):
            part, vtype = self.expr(node.value, assigned)
            code += part
            self.assign_name(target, vtype, node, assigned, code)
            return assigned
        if (isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple)
                and len(target.elts) == len(node.value.elts) and all(isinstance(t, ast.Name) for t in target.elts)):
            names = [t for t in target.elts if isinstance(t, ast.Name)]
            if len({t.id for t in names}) != len(names):
                raise self.error(target, "a name repeated in a tuple assignment", "distinct names")
            types = []
            for value in node.value.elts:
                part, vtype = self.expr(value, assigned)
                code += part
                types.append(vtype)
            for name, vtype in reversed(list(zip(names, types, strict=True))):
                self.assign_name(name, vtype, node, assigned, code)
            return assigned
        if isinstance(target, ast.Tuple):
            raise self.error(target, "tuple assignment from something other than a tuple of the same length",
                             "a, b = x, y")
        raise unsupported(self.filename, target, "as an assignment target")

    def stmt_AnnAssign(self, node: ast.AnnAssign, assigned: set[str], code: Code) -> set[str]:
        if not isinstance(node.target, ast.Name) or node.value is None:
            raise self.error(node, "annotated assignment without a value or to something other than a name",
                             "x: int = 0")
        declared = self.module.annotation(node.annotation, f"variable '{node.target.id}'", node)
        part, vtype = self.expr(node.value, assigned)
        if declared is not vtype:
            raise self.error(node, f"variable '{node.target.id}' annotated {declared} but assigned a {vtype}",
                             f"a {declared} value (for float: write 0.0 rather than 0, or float(x))")
        code += part
        self.assign_name(node.target, vtype, node, assigned, code)
        return assigned

    def stmt_AugAssign(self, node: ast.AugAssign, assigned: set[str], code: Code) -> set[str]:
        if not isinstance(node.target, ast.Name):
            raise unsupported(self.filename, node.target, "as an assignment target")
        load = ast.Name(id=node.target.id, ctx=ast.Load())
        ast.copy_location(load, node.target)
        binop = ast.copy_location(ast.BinOp(left=load, op=node.op, right=node.value), node)
        part, vtype = self.expr(binop, assigned)
        code += part
        self.assign_name(node.target, vtype, node, assigned, code)
        return assigned

    def stmt_Return(self, node: ast.Return, assigned: set[str], code: Code) -> None:
        ret = self.fn.ret
        if node.value is None or (isinstance(node.value, ast.Constant) and node.value.value is None):
            if ret is not NONE:
                raise self.error(node, f"return without a value in '{self.fn.name}' -> {ret}", f"return a {ret}")
            if self.node is None:
                raise self.error(node, "return outside a function", "code inside a def")
            code.append("return")
            return None
        if ret is NONE:
            raise self.error(node, f"return with a value in '{self.fn.name}' -> None",
                             "annotate the function's return type")
        part, vtype = self.expr(node.value, assigned)
        if vtype is not ret:
            raise self.error(node.value, f"returning a {vtype} from '{self.fn.name}' -> {ret}",
                             f"a {ret} value ({ret}(...) converts)")
        code += part
        code.append("return")
        return None

    def stmt_If(self, node: ast.If, assigned: set[str], code: Code) -> set[str] | None:
        code += self.cond(node.test, assigned)
        code.append("if")
        then = self.block(node.body, assigned, code)
        code.append("else")
        other = self.block(node.orelse, assigned, code)
        code.append("end")
        if then is None:
            return other
        if other is None:
            return then
        return then & other

    def stmt_While(self, node: ast.While, assigned: set[str], code: Code) -> set[str] | None:
        if node.orelse:
            raise self.error(node.orelse[0], "construct while ... else is not supported", "a flag variable")
        loop = _Loop(self.label("brk"), self.label("cont"))
        forever = isinstance(node.test, ast.Constant) and node.test.value is True
        code += [f"block {loop.brk}", f"loop {loop.cont}"]
        if not forever:
            code += self.cond(node.test, assigned)
            code += ["i32.eqz", f"br_if {loop.brk}"]
        self.loops.append(loop)
        self.block(node.body, set(assigned), code)
        self.loops.pop()
        code += [f"br {loop.cont}", "end", "end"]
        if forever and not loop.broke:
            code.append("unreachable")
            return None
        return assigned

    def stmt_For(self, node: ast.For, assigned: set[str], code: Code) -> set[str]:
        if node.orelse:
            raise self.error(node.orelse[0], "construct for ... else is not supported", "a flag variable")
        it = node.iter
        if not (isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id == "range"):
            raise self.error(it, f"for loop over '{ast.unparse(it)}'", "for NAME in range(...)")
        if it.keywords or not 1 <= len(it.args) <= 3:
            raise self.error(it, "range() with keywords or other than 1 to 3 arguments",
                             "range(stop), range(start, stop), range(start, stop, step)")
        if not isinstance(node.target, ast.Name):
            raise self.error(node.target, "a for target other than a name", "for i in range(...)")
        args = list(it.args)
        start: ast.expr = args[0] if len(args) > 1 else ast.Constant(0)
        stop = args[1] if len(args) > 1 else args[0]
        step: ast.expr = args[2] if len(args) == 3 else ast.Constant(1)
        counter, limit, stride = self.temp("i64"), self.temp("i64"), self.temp("i64")
        for arg, slot in ((start, counter), (stop, limit), (step, stride)):
            part, atype = self.expr(arg, assigned)
            if atype is not INT:
                raise self.error(arg, f"range() argument of type {atype}", "int arguments")
            code += [*part, f"local.set {slot}"]
        const_step = _int_literal(step)
        if const_step == 0:
            raise self.error(step, "range() with step 0", "a non-zero step")
        if const_step is None:
            zero = self.module.intern("ValueError: range() arg 3 must not be zero")
            code += [f"local.get {stride}", "i64.eqz", "if", f"i32.const {zero}",
                     f"i32.const {self.module.site(step)}", "call $ValueError", "end"]
        loop = _Loop(self.label("brk"), self.label("cont"))
        top = self.label("top")
        code += [f"block {loop.brk}", f"loop {top}"]
        if const_step is not None:
            code += [f"local.get {counter}", f"local.get {limit}", "i64.ge_s" if const_step > 0 else "i64.le_s",
                     f"br_if {loop.brk}"]
        else:
            code += [f"local.get {counter}", f"local.get {limit}", "i64.ge_s",
                     f"local.get {counter}", f"local.get {limit}", "i64.le_s",
                     f"local.get {stride}", "i64.const 0", "i64.gt_s", "select", f"br_if {loop.brk}"]
        code.append(f"local.get {counter}")
        inner = set(assigned)
        self.assign_name(node.target, INT, node.target, inner, code)
        code.append(f"block {loop.cont}")
        self.loops.append(loop)
        self.block(node.body, inner, code)
        self.loops.pop()
        # the next value; an i64 overflow means it is past the stop anyway: leave the loop
        nxt = self.temp("i64")
        code += ["end", f"local.get {counter}", f"local.get {stride}", "i64.add", f"local.tee {nxt}",
                 f"local.get {counter}", "i64.lt_s", f"local.get {stride}", "i64.const 0", "i64.lt_s", "i32.ne",
                 f"br_if {loop.brk}", f"local.get {nxt}", f"local.set {counter}", f"br {top}", "end", "end"]
        return assigned

    def stmt_Break(self, node: ast.Break, assigned: set[str], code: Code) -> None:
        if not self.loops:
            raise self.error(node, "break outside a loop", "break inside while or for")
        self.loops[-1].broke = True
        code.append(f"br {self.loops[-1].brk}")
        return None

    def stmt_Continue(self, node: ast.Continue, assigned: set[str], code: Code) -> None:
        if not self.loops:
            raise self.error(node, "continue outside a loop", "continue inside while or for")
        code.append(f"br {self.loops[-1].cont}")
        return None

    def stmt_Assert(self, node: ast.Assert, assigned: set[str], code: Code) -> set[str]:
        if node.msg is not None and not (isinstance(node.msg, ast.Constant) and isinstance(node.msg.value, str)):
            raise self.error(node.msg, "assert message that is not a string literal", "assert cond, 'text'")
        note = node.msg.value if isinstance(node.msg, ast.Constant) and isinstance(node.msg.value, str) else None
        text = "AssertionError" + (f": {note}" if note else "")
        code += self.cond(node.test, assigned)
        code += ["i32.eqz", "if", f"i32.const {self.module.intern(text)}", f"i32.const {self.module.site(node)}",
                 "call $AssertionError", "end"]
        return assigned

    # -- expressions --------------------------------------------------------------------------------

    def expr(self, node: ast.expr, assigned: set[str]) -> tuple[Code, PyType]:
        method = getattr(self, f"expr_{type(node).__name__}", None)
        if method is None:
            raise unsupported(self.filename, node)
        result: tuple[Code, PyType] = method(node, assigned)
        return result

    def coerce(self, code: Code, have: PyType, want: PyType) -> Code:
        if have is want:
            return code
        if have is BOOL and want is INT:
            return [*code, "i64.extend_i32_u"]
        if have is BOOL and want is FLOAT:
            return [*code, "f64.convert_i32_u"]
        if have is INT and want is FLOAT:
            return [*code, "f64.convert_i64_s"]
        raise AssertionError(f"no coercion from {have} to {want}")

    def truthy(self, code: Code, vtype: PyType) -> Code:
        """Code leaving an i32 0/1: Python's truth value."""
        if vtype is BOOL:
            return code
        if vtype is INT:
            return [*code, "i64.const 0", "i64.ne"]
        if vtype is FLOAT:
            return [*code, "f64.const 0", "f64.ne"]
        if vtype is STR:
            return [*code, "i32.load offset=4", "i32.const 0", "i32.ne"]
        raise AssertionError(vtype)

    def cond(self, node: ast.expr, assigned: set[str]) -> Code:
        if isinstance(node, ast.BoolOp):
            parts = [self.cond(value, assigned) for value in node.values]
            code = parts[0]
            for part in parts[1:]:
                if isinstance(node.op, ast.And):
                    code = [*code, "if (result i32)", *part, "else", "i32.const 0", "end"]
                else:
                    code = [*code, "if (result i32)", "i32.const 1", "else", *part, "end"]
            return code
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return [*self.cond(node.operand, assigned), "i32.eqz"]
        code, vtype = self.expr(node, assigned)
        if vtype is NONE:
            raise self.error(node, "a condition of type None", "a value")
        return self.truthy(code, vtype)

    def expr_Constant(self, node: ast.Constant, assigned: set[str]) -> tuple[Code, PyType]:
        value = node.value
        if isinstance(value, bool):
            return [f"i32.const {int(value)}"], BOOL
        if isinstance(value, int):
            if not fits_i64(value):
                raise self.error(node, f"int literal {value} beyond 64 bits", f"ints in [{I64_MIN}, {I64_MAX}]")
            return [f"i64.const {value}"], INT
        if isinstance(value, float):
            return [f"f64.const {_f64_literal(value)}"], FLOAT
        if isinstance(value, str):
            return [f"i32.const {self.module.intern(value)}"], STR
        kind = "None" if value is None else type(value).__name__
        raise self.error(node, f"construct {kind} value is not supported",
                         "int, float, bool and str values (None only as 'return None')")

    def expr_Name(self, node: ast.Name, assigned: set[str]) -> tuple[Code, PyType]:
        name = node.id
        if name in self.locals:
            if name not in assigned:
                raise self.error(node, f"variable '{name}' may be used before it is assigned",
                                 "assign it on every path before this use (e.g. before the if or loop)")
            return [f"local.get $v_{name}"], self.locals[name]
        if name in self.module.constants:
            ctype, value = self.module.constants[name]
            return self.expr_Constant(ast.copy_location(ast.Constant(value), node), assigned)[0], ctype
        if name in self.module.functions:
            raise self.error(node, f"function '{name}' used as a value", f"call it: {name}(...)")
        raise self.error(node, f"undefined name '{name}'",
                         "a parameter, a local assigned earlier, or a module-level constant")

    def expr_Attribute(self, node: ast.Attribute, assigned: set[str]) -> tuple[Code, PyType]:
        if self.is_math(node.value) and node.attr in _MATH_CONSTANTS:
            return [f"f64.const {_f64_literal(_MATH_CONSTANTS[node.attr])}"], FLOAT
        raise unsupported(self.filename, node)

    def is_math(self, node: ast.expr) -> bool:
        return isinstance(node, ast.Name) and node.id == "math" and self.module.math_imported and \
            "math" not in self.locals

    def expr_IfExp(self, node: ast.IfExp, assigned: set[str]) -> tuple[Code, PyType]:
        test = self.cond(node.test, assigned)
        body, btype = self.expr(node.body, assigned)
        other, otype = self.expr(node.orelse, assigned)
        if btype is not otype or btype is NONE:
            raise self.error(node, f"conditional expression with a {btype} and a {otype} branch",
                             "both branches of one type (convert one with float(...) or int(...))")
        return [*test, f"if (result {btype.wasm})", *body, "else", *other, "end"], btype

    def expr_BoolOp(self, node: ast.BoolOp, assigned: set[str]) -> tuple[Code, PyType]:
        code, vtype = self.expr(node.values[0], assigned)
        for value in node.values[1:]:
            part, ptype = self.expr(value, assigned)
            if ptype is not vtype or vtype is NONE:
                word = "and" if isinstance(node.op, ast.And) else "or"
                raise self.error(node, f"'{word}' between a {vtype} and a {ptype} as a value",
                                 f"operands of one type, or '{word}' inside a condition (if/while)")
            slot = self.temp(vtype.wasm)
            test = self.truthy([f"local.get {slot}"], vtype)
            keep = [f"local.get {slot}"]
            code = [*code, f"local.set {slot}", *test, f"if (result {vtype.wasm})"]
            code += [*part, "else", *keep, "end"] if isinstance(node.op, ast.And) else [*keep, "else", *part, "end"]
        return code, vtype

    def expr_UnaryOp(self, node: ast.UnaryOp, assigned: set[str]) -> tuple[Code, PyType]:
        literal = _int_literal(node)
        if literal is not None and isinstance(node.op, ast.USub):
            if not fits_i64(literal):
                raise self.error(node, f"int literal {literal} beyond 64 bits", f"ints in [{I64_MIN}, {I64_MAX}]")
            return [f"i64.const {literal}"], INT
        if isinstance(node.op, ast.Not):
            return [*self.cond(node.operand, assigned), "i32.eqz"], BOOL
        code, vtype = self.expr(node.operand, assigned)
        if vtype in (STR, NONE):
            raise self.error(node, f"unary {type(node.op).__name__} on a {vtype}", "int, float or bool operands")
        if isinstance(node.op, ast.Invert):
            if vtype is FLOAT:
                raise self.error(node, "operator '~' on a float", "int operands")
            return [*self.coerce(code, vtype, INT), "i64.const -1", "i64.xor"], INT
        if vtype is BOOL:
            code, vtype = self.coerce(code, BOOL, INT), INT
        if isinstance(node.op, ast.UAdd):
            return code, vtype
        if vtype is FLOAT:
            return [*code, "f64.neg"], FLOAT
        return [*code, f"i32.const {self.module.site(node)}", "call $__neg"], INT

    def expr_BinOp(self, node: ast.BinOp, assigned: set[str]) -> tuple[Code, PyType]:
        op = node.op
        symbol = _OP_SYMBOLS.get(type(op), type(op).__name__)
        if isinstance(op, ast.MatMult):
            raise self.error(node, "construct operator '@' is not supported", "*, with int or float operands")
        left, ltype = self.expr(node.left, assigned)
        right, rtype = self.expr(node.right, assigned)
        if not (ltype.numeric and rtype.numeric):
            hint = "print(a, b, sep='')" if STR in (ltype, rtype) else "int, float or bool operands"
            raise self.error(node, f"operator '{symbol}' between a {ltype} and a {rtype}", hint)
        site = f"i32.const {self.module.site(node)}"
        if isinstance(op, (ast.BitAnd, ast.BitOr, ast.BitXor)):
            if FLOAT in (ltype, rtype):
                raise self.error(node, f"operator '{symbol}' on a float", "int or bool operands")
            name = {ast.BitAnd: "and", ast.BitOr: "or", ast.BitXor: "xor"}[type(op)]
            if ltype is BOOL and rtype is BOOL:
                return [*left, *right, f"i32.{name}"], BOOL
            return [*self.coerce(left, ltype, INT), *self.coerce(right, rtype, INT), f"i64.{name}"], INT
        if FLOAT in (ltype, rtype):
            if isinstance(op, (ast.FloorDiv, ast.Mod, ast.Pow, ast.LShift, ast.RShift)):
                alternative = {"**": "x * x, or math.sqrt", "//": "int operands, or math.floor(a / b) "
                               "(not always equal for floats)", "%": "int operands"}.get(symbol, "int operands")
                raise self.error(node, f"operator '{symbol}' with a float operand", alternative)
            left, right = self.coerce(left, ltype, FLOAT), self.coerce(right, rtype, FLOAT)
            if isinstance(op, ast.Div):
                return [*left, *right, site, "call $__truediv_ff"], FLOAT
            return [*left, *right, {ast.Add: "f64.add", ast.Sub: "f64.sub", ast.Mult: "f64.mul"}[type(op)]], FLOAT
        left, right = self.coerce(left, ltype, INT), self.coerce(right, rtype, INT)
        if isinstance(op, ast.Div):
            return [*left, *right, site, "call $__truediv_ii"], FLOAT
        if isinstance(op, (ast.Add, ast.Sub)):
            return self.checked_add_sub(node, left, right, isinstance(op, ast.Add)), INT
        helper = {ast.Mult: "$__mul", ast.FloorDiv: "$__floordiv", ast.Mod: "$__mod", ast.Pow: "$__pow",
                  ast.LShift: "$__lshift", ast.RShift: "$__rshift"}[type(op)]
        return [*left, *right, site, f"call {helper}"], INT

    def checked_add_sub(self, node: ast.BinOp, left: Code, right: Code, add: bool) -> Code:
        """``+``/``-`` on i64 that raises OverflowError instead of wrapping."""
        ovf = [f"i32.const {self.module.intern(runtime.OVERFLOW_MESSAGE)}",
               f"i32.const {self.module.site(node)}", "call $OverflowError"]
        constant = _int_literal(node.right)
        instr = "i64.add" if add else "i64.sub"
        if constant is not None and constant != I64_MIN:
            slot = self.temp("i64")
            effective = constant if add else -constant
            if effective == 0:
                return left
            # x + c overflows iff x > MAX - c (c > 0) or x < MIN - c (c < 0)
            bound, test = (I64_MAX - effective, "i64.gt_s") if effective > 0 else (I64_MIN - effective, "i64.lt_s")
            return [*left, f"local.tee {slot}", f"i64.const {bound}", test, "if", *ovf, "end",
                    f"local.get {slot}", *right, instr]
        a, b, r = self.temp("i64"), self.temp("i64"), self.temp("i64")
        check = ([f"local.get {a}", f"local.get {r}", "i64.xor", f"local.get {b}", f"local.get {r}", "i64.xor"]
                 if add else
                 [f"local.get {a}", f"local.get {b}", "i64.xor", f"local.get {a}", f"local.get {r}", "i64.xor"])
        return [*left, *right, f"local.set {b}", f"local.set {a}", f"local.get {a}", f"local.get {b}", instr,
                f"local.set {r}", *check, "i64.and", "i64.const 0", "i64.lt_s", "if", *ovf, "end",
                f"local.get {r}"]

    def expr_Compare(self, node: ast.Compare, assigned: set[str]) -> tuple[Code, PyType]:
        operands = [node.left, *node.comparators]
        compiled = [self.expr(operand, assigned) for operand in operands]
        if len(node.ops) == 1:
            (lcode, ltype), (rcode, rtype) = compiled
            return self.compare_pair(node, node.ops[0], lcode, ltype, rcode, rtype), BOOL
        # a < b < c: each operand evaluated once, left to right, stopping at the first false
        slots = []
        for (part, ptype) in compiled:
            slots.append((self.temp(ptype.wasm) if ptype is not NONE else "", ptype, part))
        code: Code = []
        first_slot, _, first_code = slots[0]
        code += [*first_code, f"local.set {first_slot}"]
        tail: Code = ["i32.const 1"]
        pieces = []
        for i, op in enumerate(node.ops):
            lslot, ltype, _ = slots[i]
            rslot, rtype, rcode = slots[i + 1]
            piece = [*rcode, f"local.set {rslot}",
                     *self.compare_pair(node, op, [f"local.get {lslot}"], ltype, [f"local.get {rslot}"], rtype)]
            pieces.append(piece)
        for piece in reversed(pieces):
            tail = [*piece, "if (result i32)", *tail, "else", "i32.const 0", "end"]
        return [*code, *tail], BOOL

    def compare_pair(self, node: ast.Compare, op: ast.cmpop, lcode: Code, ltype: PyType, rcode: Code,
                     rtype: PyType) -> Code:
        kind = type(op)
        if kind not in _CMP_I64:
            raise unsupported(self.filename, op if hasattr(op, "lineno") else node)
        if ltype is STR or rtype is STR:
            if ltype is not rtype or kind not in (ast.Eq, ast.NotEq):
                raise self.error(node, f"comparison {ltype} {type(op).__name__} {rtype}",
                                 "== and != between two strs; <, >, ... between numbers")
            # every str is an interned constant: equal contents means the same address
            return [*lcode, *rcode, "i32.eq" if kind is ast.Eq else "i32.ne"]
        if NONE in (ltype, rtype):
            raise self.error(node, "comparison with None", "comparisons between values")
        if ltype is FLOAT and rtype is FLOAT:
            return [*lcode, *rcode, _CMP_F64[kind]]
        if FLOAT in (ltype, rtype):
            # int vs float: exact, as CPython (no rounding of the int to a float)
            if ltype is FLOAT:
                # keep left-to-right evaluation, then ask "int OP' float" with the operator flipped
                a, b = self.temp("f64"), self.temp(rtype.wasm)
                code = [*lcode, f"local.set {a}", *rcode, f"local.set {b}",
                        *self.coerce([f"local.get {b}"], rtype, INT), f"local.get {a}"]
                kind = _FLIPPED[kind]
            else:
                code = [*self.coerce(lcode, ltype, INT), *rcode]
            code.append("call $__cmp_if")
            result = self.temp("i32")
            tests = {ast.Eq: ["i32.eqz"], ast.NotEq: ["i32.const 0", "i32.ne"], ast.Lt: ["i32.const -1", "i32.eq"],
                     ast.Gt: ["i32.const 1", "i32.eq"]}
            if kind in tests:
                return [*code, *tests[kind]]
            edge = -1 if kind is ast.LtE else 1
            return [*code, f"local.tee {result}", f"i32.const {edge}", "i32.eq", f"local.get {result}", "i32.eqz",
                    "i32.or"]
        if ltype is BOOL and rtype is BOOL:
            return [*lcode, *rcode, _CMP_I64[kind].replace("i64", "i32")]
        return [*self.coerce(lcode, ltype, INT), *self.coerce(rcode, rtype, INT), _CMP_I64[kind]]

    # -- calls --------------------------------------------------------------------------------------

    def expr_Call(self, node: ast.Call, assigned: set[str]) -> tuple[Code, PyType]:
        func = node.func
        if isinstance(func, ast.Attribute) and self.is_math(func.value):
            return self.call_math(node, func.attr, assigned)
        if not isinstance(func, ast.Name):
            raise self.error(node, f"call of '{ast.unparse(func)}'",
                             "calls of the module's functions, print, int, float, bool, abs, min, max, len "
                             "and math functions")
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise unsupported(self.filename, arg)
        name = func.id
        if name == "print":
            return self.call_print(node, assigned), NONE
        if node.keywords:
            raise self.error(node.keywords[0], f"keyword arguments in a call of '{name}'", "positional arguments")
        if name in self.locals:
            raise self.error(node, f"call of local variable '{name}' (a {self.locals[name]})",
                             "calls of the module's functions")
        if name in self.module.functions:
            return self.call_function(node, self.module.functions[name], assigned)
        builtin = getattr(self, f"builtin_{name}", None)
        if builtin is not None and name not in self.locals:
            result: tuple[Code, PyType] = builtin(node, assigned)
            return result
        raise self.error(node, f"call of '{name}'",
                         "the module's own functions, print, int, float, bool, abs, min, max, len, math.*")

    def args(self, node: ast.Call, count: int, assigned: set[str]) -> list[tuple[Code, PyType]]:
        if len(node.args) != count:
            raise self.error(node, f"{ast.unparse(node.func)}() with {len(node.args)} arguments",
                             f"{count} argument{'s' if count != 1 else ''}")
        return [self.expr(arg, assigned) for arg in node.args]

    def call_function(self, node: ast.Call, fn: Function, assigned: set[str]) -> tuple[Code, PyType]:
        compiled = self.args(node, len(fn.params), assigned)
        code: Code = []
        for (pname, ptype), (part, atype), arg in zip(fn.params, compiled, node.args, strict=True):
            if atype is not ptype:
                raise self.error(arg, f"argument '{pname}' of {fn.name}() is a {atype}, the parameter is {ptype}",
                                 f"pass a {ptype} ({ptype}(...) converts)")
            code += part
        return [*code, f"call $f_{fn.name}"], fn.ret

    def call_print(self, node: ast.Call, assigned: set[str]) -> Code:
        self.module.uses_print = True
        sep, end = " ", "\n"
        for keyword in node.keywords:
            value = keyword.value
            if keyword.arg not in ("sep", "end") or not (
                    isinstance(value, ast.Constant) and (value.value is None or isinstance(value.value, str))):
                raise self.error(keyword, f"print() keyword '{keyword.arg}' that is not sep= or end= with a "
                                          "string literal", "print(a, b, sep=', ', end='')")
            if isinstance(value.value, str):
                if keyword.arg == "sep":
                    sep = value.value
                else:
                    end = value.value
        code: Code = []
        for i, arg in enumerate(node.args):
            if i and sep:
                code += [f"i32.const {self.module.intern(sep)}", "call $__write_str"]
            part, atype = self.expr(arg, assigned)
            if atype is NONE:
                raise self.error(arg, "printing a call that returns None", "print values")
            printer = {INT: "$__print_int", FLOAT: "$__print_float", BOOL: "$__print_bool",
                       STR: "$__write_str"}[atype]
            code += [*part, f"call {printer}"]
        if end:
            code += [f"i32.const {self.module.intern(end)}", "call $__write_str"]
        return [*code, "call $__flush"]

    def builtin_int(self, node: ast.Call, assigned: set[str]) -> tuple[Code, PyType]:
        [(code, vtype)] = self.args(node, 1, assigned)
        if vtype is FLOAT:
            return [*code, f"i32.const {self.module.site(node)}", "call $__f2i"], INT
        if vtype in (INT, BOOL):
            return self.coerce(code, vtype, INT), INT
        raise self.error(node, f"int() of a {vtype}", "int() of an int, float or bool")

    def builtin_float(self, node: ast.Call, assigned: set[str]) -> tuple[Code, PyType]:
        arg = node.args[0] if len(node.args) == 1 else None
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            text = arg.value.strip().lower()
            specials = {"inf": math.inf, "+inf": math.inf, "-inf": -math.inf, "infinity": math.inf,
                        "-infinity": -math.inf, "nan": math.nan, "+nan": math.nan, "-nan": math.nan}
            if text in specials:
                return [f"f64.const {_f64_literal(specials[text])}"], FLOAT
        [(code, vtype)] = self.args(node, 1, assigned)
        if vtype.numeric:
            return self.coerce(code, vtype, FLOAT), FLOAT
        raise self.error(node, f"float() of a {vtype}", "float() of an int, float or bool, or float('inf'/'nan')")

    def builtin_bool(self, node: ast.Call, assigned: set[str]) -> tuple[Code, PyType]:
        [(code, vtype)] = self.args(node, 1, assigned)
        return self.truthy(code, vtype), BOOL

    def builtin_abs(self, node: ast.Call, assigned: set[str]) -> tuple[Code, PyType]:
        [(code, vtype)] = self.args(node, 1, assigned)
        if vtype is FLOAT:
            return [*code, "f64.abs"], FLOAT
        if vtype in (INT, BOOL):
            return [*self.coerce(code, vtype, INT), f"i32.const {self.module.site(node)}", "call $__abs"], INT
        raise self.error(node, f"abs() of a {vtype}", "abs() of an int or float")

    def builtin_len(self, node: ast.Call, assigned: set[str]) -> tuple[Code, PyType]:
        [(code, vtype)] = self.args(node, 1, assigned)
        if vtype is not STR:
            raise self.error(node, f"len() of a {vtype}", "len() of a str")
        return [*code, "i32.load offset=4", "i64.extend_i32_u"], INT

    def builtin_min(self, node: ast.Call, assigned: set[str]) -> tuple[Code, PyType]:
        return self.min_max(node, assigned, ast.Lt())

    def builtin_max(self, node: ast.Call, assigned: set[str]) -> tuple[Code, PyType]:
        return self.min_max(node, assigned, ast.Gt())

    def min_max(self, node: ast.Call, assigned: set[str], better: ast.cmpop) -> tuple[Code, PyType]:
        """min/max of 2+ values of one type: the first best, as CPython keeps it."""
        name = "min" if isinstance(better, ast.Lt) else "max"
        if len(node.args) < 2:
            raise self.error(node, f"{name}() of fewer than two values", f"{name}(a, b, ...)")
        compiled = [self.expr(arg, assigned) for arg in node.args]
        vtype = compiled[0][1]
        if any(t is not vtype for _, t in compiled) or vtype not in (INT, FLOAT):
            raise self.error(node, f"{name}() of {', '.join(str(t) for _, t in compiled)}",
                             f"{name}() of ints or of floats, all one type")
        best, cand = self.temp(vtype.wasm), self.temp(vtype.wasm)
        code = [*compiled[0][0], f"local.set {best}"]
        table = _CMP_I64 if vtype is INT else _CMP_F64
        for part, _ in compiled[1:]:
            code += [*part, f"local.set {cand}", f"local.get {cand}", f"local.get {best}",
                     f"local.get {cand}", f"local.get {best}", table[type(better)], "select", f"local.set {best}"]
        return [*code, f"local.get {best}"], vtype

    def call_math(self, node: ast.Call, name: str, assigned: set[str]) -> tuple[Code, PyType]:
        if name not in _MATH_FUNCS or node.keywords:
            raise self.error(node, f"math.{name}()", "math." + ", math.".join(_MATH_FUNCS))
        count = 2 if name == "copysign" else 1
        compiled = self.args(node, count, assigned)
        for (_, atype), arg in zip(compiled, node.args, strict=True):
            if not atype.numeric:
                raise self.error(arg, f"math.{name}() of a {atype}", "int or float arguments")
        site = f"i32.const {self.module.site(node)}"
        (code, vtype) = compiled[0]
        if name in ("floor", "ceil", "trunc"):
            if vtype is not FLOAT:
                return self.coerce(code, vtype, INT), INT
            rounding = {"floor": "f64.floor", "ceil": "f64.ceil", "trunc": "f64.trunc"}[name]
            return [*code, rounding, site, "call $__f2i"], INT
        code = self.coerce(code, vtype, FLOAT)
        if name == "sqrt":
            return [*code, site, "call $__sqrt"], FLOAT
        if name == "fabs":
            return [*code, "f64.abs"], FLOAT
        if name == "copysign":
            other, otype = compiled[1]
            return [*code, *self.coerce(other, otype, FLOAT), "f64.copysign"], FLOAT
        slot = self.temp("f64")
        if name == "isnan":
            return [*code, f"local.tee {slot}", f"local.get {slot}", "f64.ne"], BOOL
        if name == "isinf":
            return [*code, "f64.abs", "f64.const inf", "f64.eq"], BOOL
        # isfinite: neither inf nor nan
        return [*code, f"local.tee {slot}", f"local.get {slot}", "f64.sub", f"local.tee {slot}",
                f"local.get {slot}", "f64.eq"], BOOL


def _int_literal(node: ast.expr) -> int | None:
    """The value of an int literal (or a negated one), else None."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant)
            and type(node.operand.value) is int):
        return -node.operand.value
    return None
