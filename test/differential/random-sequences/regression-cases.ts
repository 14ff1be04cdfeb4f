/**
 * Sequences that once made the software CPU differ from the real CPU, kept in a form that does
 * not depend on the generator (code, GPRs and flags spelled out; data and stack from the seed,
 * see initialMemory). Each must match the real CPU, up to the KNOWN_DIFFERENCES it names
 * (`known`): when that difference is fixed and removed from known-differences.ts, the case
 * must match exactly. A long run (scripts/difftest.mjs) prints new mismatches in this form.
 */
import type { SequenceCase } from './sequence-generator.js';

export interface RegressionCase extends SequenceCase {
  /** What it found. */
  note: string;
  /** The known difference it still shows (known-differences.ts), if any. */
  known?: string;
  /**
   * What the case checks is Intel's behaviour, which AMD's cores do differently (the upper
   * halves of RCX/RSI/RDI after a 67-prefixed REP, the flags a faulting REP CMPS/SCAS leaves,
   * the return address CALL stores before a #GP on its target): replayed on Intel hosts only.
   */
  intelOnly?: true;
}

export const REGRESSION_CASES: readonly RegressionCase[] = [
  {
    note: 'add qword [rsi], imm8 on a non-present page: #PF error code must have W = 1 (0x6)',
    seed: 2125684924, code: '48be7cd7d89b00000000488106fcffffff',
    gpr: ['ae', 'c599e24649b12b1e', 'ec0b0e0033da788c', '78', '7fefd0', '3eeb578f33da503a', '5b', '4c3005633542ee9e', '9b', 'd6', 'e5ba90a20f4c373e', '7828f84bfd672a73', 'ac4c311a', '4', 'a6cf6e9fa0e1335d', '8d0fc90e'],
    rflags: 213,
  },
  {
    note: 'bsf r10, [rbp-0xc4d] (ES override) with a non-canonical address: #SS(0), not #GP(0)',
    seed: 2057422600, code: '48bb720260000000000048d003415441b19948bd48a673470de4127226664c0fbc95b3f3ffff',
    gpr: ['2', '7fffffff', '2bae2841', 'd2e1e925215436e3', '7fef50', '3d', 'e3', '40bfbc93', 'c792acc4', 'fb', '7fffffffffffffff', '57', '1', 'feb3ecb0b141412f', 'd6e323931476e005', 'c'],
    rflags: 2245,
  },
  {
    note: 'call [rsi] to a non-canonical target: #GP(0) after the return address was stored below RSP',
    intelOnly: true,
    seed: 2431757635, code: 'c0d1ae49bf70726000139536faf067410fbabf25f1ffff0a48b93f026000fc1ab01767fe0148be3802600000000000ff1426',
    gpr: ['1a', '84', 'dbf949465f636a53', '66', '7fef50', 'cbe3a2fdc08f7d53', 'ff', 'd0f2e19c', 'ffffffff', '941ec7d9', '4c448e9e2a5207c7', '79682121', '24ac10938989b20a', '100000000', 'bcfee723ad37951e', '9a'],
    rflags: 2132, patches: [[568, '400032']],
  },
  {
    note: 'mov [0x60fffb], rax crossing into a non-present page: CR2 = 0x610000',
    seed: 2855194808, code: '48be3274e4b3149b044e49ba0132ce30ad93edc76641f744b2b359854899490f4de848a3fbff600000000000410f9d159f0120004d0f45ce4c0bcf',
    gpr: ['539db982', '30c63d0327241f35', '9ce7195520d1bdef', '21b03a40', '7fef48', '33489020ad386751', 'c1a8ce1c', 'bb7886c837aafab7', 'dddbce1922ad8c5a', '78', '8000', 'dc0e6806c396f417', '1a19ed284418a5fa', '35', '7fffffffffffffff', '7fff'],
    rflags: 1233,
  },
  {
    note: 'mov [r10+rdx], rdx crossing into a non-present page: CR2 = 0x610000',
    seed: 4134710462, code: '490fbced48ba7f0000000000000049ba80ff60000000000066364989141266410f4ec92c63',
    gpr: ['e4', '2b17b036fa9a6483', 'b2', '6c26509f1d753244', '7feff0', '482e9b95', '80000000', 'df', '57e19b12c83cb09f', '50d48159157ac3d3', '6948369d', '6fead465', 'b4', '8afef626cd2c64c5', 'ffffffff', '6c928b78bddb0843'],
    rflags: 3269,
  },
  {
    note: 'pop word [r9+rbx*4-0x7a] with a non-canonical address: #GP(0) with RSP unchanged',
    seed: 384384889, code: '48bbd50000000000000049b9ba0469ab4b8ba55466418f4499866681f27a8048ba0100000000000000f6fb',
    gpr: ['b0561ca26dc58f90', '2efc3c9640a9b956', '7fffffff', '37124267fdc9fae2', '7fef81', '97', 'a5', 'fffffffffffffffe', '8c', '2', 'b409a3544cbd2ebd', '5bb6bbf1', '2aa74e4d', 'e9', '3c8cd68366e3b5c7', '1'],
    rflags: 85,
  },
  {
    note: 'rep movs qword [edi], [esi] (67) with ECX = 0: RCX, RSI, RDI are zero-extended',
    intelOnly: true,
    seed: 3475772322, code: '48bede086000e7d96dc048bff9106000fd0f248348b9000000006483450af36748a549d2d34854410f1dcd',
    gpr: ['0', '0', '0', '0', '7fef80', '0', '0', '0', '0', '0', '0', '0', '0', '0', '0', '0'],
    rflags: 2049,
  },
  {
    note: 'repz scas byte [edi] (67) with ECX = 0: RCX zero-extended, RDI keeps bits 63:32',
    intelOnly: true,
    seed: 3990492220, code: '66d0c448be020860000ae3620b48bfa910600019b1e23c48b900000000532c308067f3ae440fadda0fb62ca5d4796000',
    gpr: ['0', '0', '0', '0', '7fef80', '0', '0', '0', '0', '0', '0', '0', '0', '0', '0', '0'],
    rflags: 2112,
  },
  {
    note: 'setle overwrites the target of a later jmp [mem]: the sequence loops, PUSHF exhausts the stack, #PF',
    intelOnly: true,
    seed: 2245631251, code: '66b42a761648be970860009421661648bf6a106000da3c66cc67ad669366fc9c49bc4c01600000000000410f9e5c247049bfb8096000000000006641ffa42704f8ffff',
    gpr: ['75d300abb89bba7a', 'eb0905178ddf6d13', '666826c531ce5edf', '7fffffff', '7fefd0', 'f9', '8e4ff3d4312093ed', 'cd23d8eb', '0', '42c90ee017b56041', '8000000000000000', '7f', '4b', '7b46bcc39784cb5e', '6bd46aee6f23cde6', 'ed791e5f0357640e'],
    rflags: 212, patches: [[444, '400043']],
  },
  {
    note: 'repnz cmps qword faulting on its 4th element: RCX/RSI/RDI at the element, RFLAGS from before the instruction',
    intelOnly: true,
    seed: 3967117564, code: '3640c02d980120000148f9835ca4c94c48bef10860000000000048bfca1060000000000048b90200000000000000f340a548beb60860000000000048bfe5ff60000000000048b90400000000000000f248a7440f47eb48bb12c55df390c1b7d848be2feee832bcf9209d48fe449ee4',
    gpr: ['ba', 'c25a41dda28ec8b1', '7f', '981a53c217a520ad', '7fefa8', 'b784ffdf530797f', 'b9c47e626b5c5ea9', '204be16e86ca2669', 'e4', '8cf03d5f13eb37e7', '4a72791c', 'd66ebe77a97a59e4', '8000', 'd2560257', '80', 'bce1c2cd'],
    rflags: 2064,
  },
  {
    note: 'repnz scas qword faulting mid-way (RDI runs off the data area): RFLAGS from before the instruction',
    intelOnly: true,
    seed: 3309723510, code: '410fb1f766c0dc9849b86eca74411258bd3349bf7cb1b9f475630cb4674b0f479cc7a6fdffff450f9fdc48be020860000000000048bfdbff60000000000048b91d00000000000000f248af',
    gpr: ['bd', '13c8093b0c446f', '45624d2c', 'fed93a53d9c957f0', '7fef98', 'cdd70dcaa7379cf7', '0', 'b1', '5', '3756efa137f2cd4a', '1f', 'd165b4128a7f2cd5', '21', '6c72be31', '39fcb3a0', '70f50bbed70dd281'],
    rflags: 213,
  },
  {
    note: 'rep stos byte [edi] (67) faulting on its first element: RCX and RDI zero-extended',
    intelOnly: true,
    seed: 1037948127, code: '48be280860003d7a00cd48bf00006100e9ab268948b929000000e83026c7f36748aa',
    gpr: ['a9b0bba964e52beb', '535adbea', 'fe4725a5', 'd03f98a7bc3528c2', '7fef60', '1a', 'b0da6fa090650130', '2c', '9e039f2b72dd2ec5', '4', 'bae7633e58a5b0ba', '60e2f0c0', '90', '7fd939353a4fd176', '57', 'e8'],
    rflags: 3268,
  },
  {
    note: 'rep movs byte (67) faulting on its first source element: RCX, RSI, RDI zero-extended',
    intelOnly: true,
    seed: 2199374239, code: '48be000061009a5588ab48bfcf10600098bc67a048b92500000032839ebb67f3a480f013662ad648b505',
    gpr: ['ffffffffffffffff', '1b39bb1e5d55692f', 'b9', 'fffffffffffffffe', '7fef8e', '18685d1a', '1', '64845c63', 'd541946322cbdde3', '7fffffffffffffff', '96be702909a88b34', '4559a1157a3f88d8', '786d8fd12e17478c', '8e', '472bad2d529fcd97', 'a3'],
    rflags: 20,
  },
  {
    note: 'rep lods dword (67) faulting on an element that straddles the data area end: only RCX zero-extended',
    intelOnly: true,
    seed: 12536271, code: '48befeff6000de9291bb48bf8c1060003839fbe948b93000000088f7191df367ad48710366e0004981f48080008041b815fbc67f',
    gpr: ['7fffffffffffffff', '3c', 'ec52f19b87b58afe', '5a5ea69f62671d5d', '7fefb8', '5f', '50', '7a8ad4fe', '23', 'ff', 'f5d5f3e05f57a501', '1373c5b803cfb9c4', 'f5', '73b21ca0', '962ec243549ed96', 'ffffffff'],
    rflags: 196,
  },
  {
    note: 'rep stos qword (67) straddling into the unmapped page: CR2 at the page, RCX/RDI zero-extended (two known differences)',
    intelOnly: true,
    seed: 4216194006, code: '9c49d1c74111dc48be86086000c1f5b92848bffeff600086d8393b48b90300000094103feaf36748ab',
    gpr: ['c480a85a', '1', 'b95485c6b820451c', '80000000', '7fef48', 'c80bfd797a5b7053', '318ee1dc3087903e', '9b96d6c8d37c4ca3', 'cc399251db42c29a', '26', '6b792b730a5dfa0b', 'b5ab1f80162cb2b3', '1', '6efdb40a', 'ba48ea9c4d626bab', '0'],
    rflags: 129,
  },
];
