; demo.asm: tsemu's built-in demo guest, a walk from real mode to long mode.
;
; Build:  nasm -f bin -o demo.bin demo.asm   (or: node packages/cli/scripts/build-demo-guest.mjs)
;
; tsemu loads this flat binary at guest-physical 0x7c00 (where a PC BIOS would have put a boot
; sector) and starts the CPU in real mode with CS=0 IP=0x7c00, DS=ES=SS=0, SP=0x7c00 and
; interrupts off. There is no BIOS behind it: no int 10h, no int 13h. Everything the guest
; shows goes out through the COM1 16550A UART by port I/O, which works the same in every mode.
;
; The guest climbs the three x86 operating modes, printing one line at each step:
;
;   tsemu demo guest: hello from real mode (16-bit)
;   entered protected mode (32-bit)
;   entered long mode (64-bit)
;   cpu vendor: GenuineIntel            (whatever CPUID leaf 0 reports)
;   fib(90) = 0x27f80ddaa1ba7878        (2880067194370816120: needs 64-bit registers)
;   demo guest done: powering off
;
; and then powers the machine off through the ACPI PM1a control register (tsemu exits 0).
;
; References: Intel SDM vol. 3A ch. 9.9 "Mode switching" (real -> protected), ch. 10.8.5
; "Initializing IA-32e mode" (protected -> long), ch. 4.5 "4-level paging"; AMD APM vol. 2
; ch. 14 "Processor initialization and long mode activation"; the TI/National PC16550D
; datasheet for the UART registers; ACPI 6.x sect. 4.8.3.2 for PM1 control (SLP_EN).

; ---------------------------------------------------------------------------------------------
; Machine constants
; ---------------------------------------------------------------------------------------------

COM1            equ 0x3f8           ; 16550A base port
UART_THR        equ COM1 + 0        ; transmit holding register (DLAB=0, write)
UART_DLL        equ COM1 + 0        ; divisor latch low  (DLAB=1)
UART_IER        equ COM1 + 1        ; interrupt enable   (DLAB=0)
UART_DLM        equ COM1 + 1        ; divisor latch high (DLAB=1)
UART_FCR        equ COM1 + 2        ; FIFO control (write)
UART_LCR        equ COM1 + 3        ; line control
UART_MCR        equ COM1 + 4        ; modem control
UART_LSR        equ COM1 + 5        ; line status
LCR_DLAB        equ 0x80            ; divisor latch access bit
LCR_8N1         equ 0x03            ; 8 data bits, no parity, 1 stop bit
FCR_ENABLE_CLEAR equ 0xc7           ; FIFO on, clear RX and TX FIFOs, RX trigger at 14 bytes
MCR_DTR_RTS_OUT2 equ 0x0b           ; OUT2 gates the UART's IRQ onto the ISA bus on a PC
LSR_THRE        equ 0x20            ; transmit holding register empty
BAUD_DIVISOR    equ 1               ; 1.8432 MHz / (16 * 115200) = 1

PM1A_CNT        equ 0x604           ; ACPI PM1a control block on tsemu's PC (QEMU: 0x600 + 4)
PM1_SLP_EN      equ 1 << 13         ; with SLP_TYP = 0 (S5 on this machine): soft power-off

MSR_EFER        equ 0xc0000080      ; IA32_EFER
CPUID_LM        equ 1 << 29         ; CPUID.80000001h:EDX: long mode (Intel 64 / AMD64)
EFER_LME        equ 1 << 8          ; long mode enable

CR0_PE          equ 1 << 0          ; protection enable
CR0_PG          equ 1 << 31         ; paging
CR4_PAE         equ 1 << 5          ; physical address extension (64-bit page table entries)

; Page tables live below the image, in RAM nothing else uses (no BIOS data to preserve).
; Each table is one 4 KiB page of 512 eight-byte entries and must be 4 KiB aligned.
PML4_ADDR       equ 0x1000          ; level 4: each entry covers 512 GiB
PDPT_ADDR       equ 0x2000          ; level 3: each entry covers 1 GiB
PD_ADDR         equ 0x3000          ; level 2: each entry covers 2 MiB (or maps it, with PS)
PAGE_TABLES_END equ 0x4000

PTE_P           equ 1 << 0          ; present
PTE_RW          equ 1 << 1          ; writable
PTE_PS          equ 1 << 7          ; in a page-directory entry: maps a 2 MiB page directly

STACK_TOP       equ 0x7c00          ; grows down from the image, as the loader set it up

; Segment selectors: index into the GDT times 8 (table indicator 0 = GDT, RPL 0).
CODE32_SEL      equ 0x08
DATA_SEL        equ 0x10
CODE64_SEL      equ 0x18

        org 0x7c00

; =============================================================================================
; Step 1: real mode (16-bit)
; =============================================================================================
; The CPU starts like an 8086: 16-bit registers, addresses are segment * 16 + offset, no
; protection. That is enough to talk to the UART, so this is where we say hello.

        bits 16
start:
        cli                         ; nothing may interrupt us: there is no IDT we could trust
        ; A BIOS may enter a boot sector as 07c0:0000 instead of 0000:7c00. Both point at the
        ; same byte, but our labels assume CS=0; a far jump pins CS down.
        jmp 0x0000:.cs_is_zero
.cs_is_zero:
        xor ax, ax
        mov ds, ax
        mov es, ax
        mov ss, ax                  ; a write to SS holds off interrupts for one instruction,
        mov sp, STACK_TOP           ; so SS:SP is never seen half-updated
        cld                         ; lodsb/stosd walk upwards

        ; Program the UART: 115200 baud 8N1. The divisor registers share ports 0 and 1 with
        ; THR/IER and are reached by setting DLAB in the line control register first.
        mov dx, UART_IER
        xor al, al                  ; no UART interrupts: we poll the line status register
        out dx, al
        mov dx, UART_LCR
        mov al, LCR_DLAB
        out dx, al
        mov dx, UART_DLL
        mov al, BAUD_DIVISOR & 0xff
        out dx, al
        mov dx, UART_DLM
        mov al, BAUD_DIVISOR >> 8
        out dx, al
        mov dx, UART_LCR
        mov al, LCR_8N1             ; also clears DLAB
        out dx, al
        mov dx, UART_FCR
        mov al, FCR_ENABLE_CLEAR
        out dx, al
        mov dx, UART_MCR
        mov al, MCR_DTR_RTS_OUT2
        out dx, al

        mov si, msg_real
        call puts16

; ---------------------------------------------------------------------------------------------
; Real mode -> protected mode (SDM 9.9.1)
; ---------------------------------------------------------------------------------------------
; In protected mode a segment register holds a selector, an index into the Global Descriptor
; Table; the CPU takes base, limit and type from the descriptor. So: (1) describe the
; segments in a GDT and load its address with LGDT, (2) set CR0.PE, (3) far-jump, because
; only a far control transfer reloads CS and with it the default operand size (32-bit code
; descriptor, D=1). Until that jump the CPU still decodes 16-bit code with the old CS cache.

        ; The operand-size prefix makes LGDT load a full 32-bit base (16-bit LGDT drops the
        ; top byte). Our GDT is below 1 MiB either way; the prefix just removes the doubt.
        o32 lgdt [gdt_descriptor]
        mov eax, cr0
        or eax, CR0_PE
        mov cr0, eax
        jmp CODE32_SEL:protected_mode

; =============================================================================================
; Step 2: protected mode (32-bit)
; =============================================================================================
; CS now holds a flat 4 GiB 32-bit code segment. The data segment registers still carry
; their real-mode caches; reload each with the flat data selector before relying on them.

        bits 32
protected_mode:
        mov ax, DATA_SEL
        mov ds, ax
        mov es, ax
        mov fs, ax
        mov gs, ax
        mov ss, ax
        mov esp, STACK_TOP

        mov esi, msg_protected
        call puts32

        ; Not every CPU has long mode (CPUID.80000001h:EDX bit 29, "LM"); a P6-class CPU does
        ; not, and turning on EFER.LME there would fault. Ask first, and stop politely if not.
        mov eax, 0x80000000         ; highest extended leaf
        cpuid
        cmp eax, 0x80000001
        jb .no_long_mode
        mov eax, 0x80000001
        cpuid
        test edx, CPUID_LM
        jnz .long_mode_ok
.no_long_mode:
        mov esi, msg_no_long
        call puts32
        jmp power_off
.long_mode_ok:

; ---------------------------------------------------------------------------------------------
; Protected mode -> long mode (SDM 10.8.5, AMD APM 14.6)
; ---------------------------------------------------------------------------------------------
; Long mode only exists with paging, and only with the 64-bit-entry (PAE) page table format
; arranged in four levels: PML4 -> PDPT -> PD (-> PT). The CPU's recipe, in this order:
;   1. paging is off (it is: we never turned it on);
;   2. CR4.PAE = 1;
;   3. CR3 = physical address of the PML4;
;   4. IA32_EFER.LME = 1 (long mode enabled but not yet active);
;   5. CR0.PG = 1: the CPU sets EFER.LMA and runs in *compatibility* mode, still 32-bit code;
;   6. far-jump to a code segment with L=1 to run 64-bit code.
; The code doing this runs at an address that must stay the same once paging is on, so we
; identity-map it: virtual address = physical address.

        ; Zero the three tables: an entry with a stray present bit would map garbage.
        mov edi, PML4_ADDR
        xor eax, eax
        mov ecx, (PAGE_TABLES_END - PML4_ADDR) / 4
        rep stosd

        ; One entry per level suffices for the first 2 MiB, which holds all of this guest:
        ; PML4[0] -> PDPT, PDPT[0] -> PD, PD[0] maps physical 0..2 MiB as one large page.
        ; Entries are 64-bit; the upper halves (address bits 32+, NX) stay zero.
        mov dword [PML4_ADDR], PDPT_ADDR | PTE_P | PTE_RW
        mov dword [PDPT_ADDR], PD_ADDR | PTE_P | PTE_RW
        mov dword [PD_ADDR], 0 | PTE_P | PTE_RW | PTE_PS

        mov eax, cr4
        or eax, CR4_PAE
        mov cr4, eax

        mov eax, PML4_ADDR
        mov cr3, eax

        mov ecx, MSR_EFER           ; RDMSR/WRMSR move the MSR named by ECX through EDX:EAX
        rdmsr
        or eax, EFER_LME
        wrmsr

        mov eax, cr0
        or eax, CR0_PG
        mov cr0, eax                ; now in IA-32e compatibility mode

        jmp CODE64_SEL:long_mode

; =============================================================================================
; Step 3: long mode (64-bit)
; =============================================================================================
; In 64-bit mode segmentation is mostly gone: CS, DS, ES and SS bases are treated as zero and
; limits are not checked. Registers are 64 bits wide (RAX..R15). The stack still goes through
; SS, so give it the flat data selector again (a null SS is legal at CPL0, but clearer not).

        bits 64
long_mode:
        mov ax, DATA_SEL
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov rsp, STACK_TOP

        mov esi, msg_long           ; writing ESI zero-extends into RSI
        call puts64

        ; CPUID leaf 0: EAX = highest leaf, and the 12-byte vendor string in EBX, EDX, ECX
        ; (in that order: "Genu" "ineI" "ntel").
        xor eax, eax
        cpuid
        mov [vendor], ebx
        mov [vendor + 4], edx
        mov [vendor + 8], ecx
        mov esi, msg_vendor
        call puts64
        mov esi, vendor
        call puts64
        mov esi, msg_crlf
        call puts64

        ; fib(90) = 2880067194370816120 does not fit in 32 bits: a 64-bit add does it in
        ; one instruction per step. Invariant: RAX = fib(i), RDX = fib(i + 1).
        xor eax, eax
        mov edx, 1
        mov ecx, 90
.fib_step:
        lea rbx, [rax + rdx]
        mov rax, rdx
        mov rdx, rbx
        dec ecx
        jnz .fib_step
        mov rbx, rax
        mov esi, msg_fib
        call puts64
        call put_hex64
        mov esi, msg_crlf
        call puts64

        mov esi, msg_done
        call puts64

        ; Power off: write SLP_EN (with SLP_TYP 0 = soft-off) to the PM1a control register.
        ; (The same bytes serve the 32-bit path above: OUT DX, AX is encoded alike there.)
power_off:
        mov dx, PM1A_CNT
        mov ax, PM1_SLP_EN
        out dx, ax
        ; Not reached on tsemu. Elsewhere, stop here without burning a host CPU.
.halt:
        cli
        hlt
        jmp .halt

; ---------------------------------------------------------------------------------------------
; Serial output, assembled once per mode
; ---------------------------------------------------------------------------------------------
; The same instructions mean the same thing in 16-, 32- and 64-bit code but encode
; differently (LODSB reads DS:SI, DS:ESI or RSI), so each mode gets its own copy of one
; macro body. Port I/O (IN/OUT with DX) is identical in every mode.

; Send AL on COM1 once the transmitter can take a byte. Clobbers DX, AH.
%macro PUTC_BODY 0
        mov ah, al
        mov dx, UART_LSR
%%wait:
        in al, dx
        test al, LSR_THRE
        jz %%wait
        mov al, ah
        mov dx, UART_THR
        out dx, al
%endmacro

; Send the NUL-terminated string at [SI/ESI/RSI]. Clobbers AX, DX, SI.
%macro PUTS_BODY 0
%%next:
        lodsb
        test al, al
        jz %%done
        PUTC_BODY
        jmp %%next
%%done:
        ret
%endmacro

        bits 16
puts16:
        PUTS_BODY

        bits 32
puts32:
        PUTS_BODY

        bits 64
puts64:
        PUTS_BODY

; Print RBX as 16 lowercase hex digits, most significant first. Clobbers RAX, RBX, RCX, RDX.
put_hex64:
        mov ecx, 16
.digit:
        rol rbx, 4                  ; bring the top nibble to the bottom
        mov eax, ebx
        and eax, 0x0f
        mov al, [hex_digits + rax]
        PUTC_BODY
        dec ecx
        jnz .digit
        ret

; ---------------------------------------------------------------------------------------------
; Global Descriptor Table (SDM 3.4.5 "Segment descriptors")
; ---------------------------------------------------------------------------------------------
; Each descriptor is 8 bytes: base and limit scattered over the fields for 286 compatibility,
; an access byte (present, DPL, code/data, readable/writable) and flags (G: limit counts 4 KiB
; units, D/B: 32-bit default size, L: 64-bit code). Flat segments: base 0, limit 0xfffff * 4K.
        align 8
gdt:
        dq 0                        ; selector 0 must be the null descriptor
        dq 0x00cf9a000000ffff       ; 0x08: code, ring 0, exec/read, G=1 D=1 (32-bit)
        dq 0x00cf92000000ffff       ; 0x10: data, ring 0, read/write, G=1 B=1
        dq 0x00af9a000000ffff       ; 0x18: code, ring 0, exec/read, G=1 L=1 D=0 (64-bit)
gdt_end:

gdt_descriptor:
        dw gdt_end - gdt - 1        ; limit: size in bytes minus one
        dd gdt                      ; linear base address

; ---------------------------------------------------------------------------------------------
; Data
; ---------------------------------------------------------------------------------------------
msg_real:       db `tsemu demo guest: hello from real mode (16-bit)\r\n`, 0
msg_protected:  db `entered protected mode (32-bit)\r\n`, 0
msg_long:       db `entered long mode (64-bit)\r\n`, 0
msg_vendor:     db `cpu vendor: `, 0
msg_fib:        db `fib(90) = 0x`, 0
msg_done:       db `demo guest done: powering off\r\n`, 0
msg_no_long:    db `this CPU has no long mode (64-bit): powering off\r\n`, 0
msg_crlf:       db `\r\n`, 0
hex_digits:     db `0123456789abcdef`
vendor:         times 13 db 0       ; 12 vendor bytes from CPUID, then the terminating NUL
