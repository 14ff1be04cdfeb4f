; spin.asm: a guest that never stops on its own.
;
; Proves nothing by itself: it gives the host a vCPU that is always busy (no HLT, no I/O, no
; interrupts), to test pausing, kicking a vCPU out of KVM_RUN, snapshots and stopping.
;
; Expected serial output:
;   spinning
; Exit: none; the host ends the run.
;
; Build: nasm -f bin -I test/guests/ -o spin.bin test/guests/spin.asm

%include "lib/multiboot.inc"
%include "lib/serial.inc"

main:
        call serial_init
        mov esi, msg_spinning
        call serial_puts
        cli
.spin:
        jmp .spin

msg_spinning:   db `spinning\r\n`, 0

MULTIBOOT_IMAGE_END
