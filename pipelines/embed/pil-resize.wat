;; Pillow's 8-bit resample passes (Resample.c: ImagingResampleHorizontal_8bpc / _Vertical_8bpc) on
;; RGB rows, in WebAssembly: int32 sums starting at 1 << 21, `>> 22`, clipped to 0..255 — the same
;; integer arithmetic as Pillow's C, so the same bytes. Built into pil-resize-wasm.ts by
;; scripts/build-pil-resize-wasm.ts (wabt); test/embed/pil-resize.test.ts checks the two agree.
;; Coefficient tables (`kk`: ksize int32 per output pixel; `bounds`: first input index and count
;; per output pixel) and pixels live in the exported memory at offsets the caller chooses.
(module
  (memory (export "memory") 1)

  (func $clip8 (param $v i32) (result i32)
    (local $s i32)
    (local.set $s (i32.shr_s (local.get $v) (i32.const 22)))
    (select (i32.const 0)
      (select (i32.const 255) (local.get $s) (i32.gt_s (local.get $s) (i32.const 255)))
      (i32.lt_s (local.get $s) (i32.const 0))))

  ;; output columns x0..x0+cols of input rows y0..y0+rows (row length w pixels) → out (cols × rows × 3)
  (func (export "horizontal")
    (param $src i32) (param $w i32) (param $y0 i32) (param $rows i32) (param $x0 i32) (param $cols i32)
    (param $kk i32) (param $bounds i32) (param $ksize i32) (param $out i32)
    (local $y i32) (local $row i32) (local $xx i32) (local $xend i32) (local $k i32) (local $kend i32)
    (local $p i32) (local $f i32) (local $s0 i32) (local $s1 i32) (local $s2 i32) (local $o i32)
    (local.set $o (local.get $out))
    (local.set $xend (i32.add (local.get $x0) (local.get $cols)))
    (block $rows_done
      (loop $rows_loop
        (br_if $rows_done (i32.ge_u (local.get $y) (local.get $rows)))
        (local.set $row (i32.add (local.get $src)
          (i32.mul (i32.mul (i32.add (local.get $y) (local.get $y0)) (local.get $w)) (i32.const 3))))
        (local.set $xx (local.get $x0))
        (block $cols_done
          (loop $cols_loop
            (br_if $cols_done (i32.ge_u (local.get $xx) (local.get $xend)))
            (local.set $k (i32.add (local.get $kk) (i32.shl (i32.mul (local.get $xx) (local.get $ksize)) (i32.const 2))))
            (local.set $kend (i32.add (local.get $k)
              (i32.shl (i32.load offset=4 (i32.add (local.get $bounds) (i32.shl (local.get $xx) (i32.const 3)))) (i32.const 2))))
            (local.set $p (i32.add (local.get $row)
              (i32.mul (i32.load (i32.add (local.get $bounds) (i32.shl (local.get $xx) (i32.const 3)))) (i32.const 3))))
            (local.set $s0 (i32.const 2097152))
            (local.set $s1 (i32.const 2097152))
            (local.set $s2 (i32.const 2097152))
            (block $taps_done
              (loop $taps
                (br_if $taps_done (i32.ge_u (local.get $k) (local.get $kend)))
                (local.set $f (i32.load (local.get $k)))
                (local.set $s0 (i32.add (local.get $s0) (i32.mul (i32.load8_u (local.get $p)) (local.get $f))))
                (local.set $s1 (i32.add (local.get $s1) (i32.mul (i32.load8_u offset=1 (local.get $p)) (local.get $f))))
                (local.set $s2 (i32.add (local.get $s2) (i32.mul (i32.load8_u offset=2 (local.get $p)) (local.get $f))))
                (local.set $k (i32.add (local.get $k) (i32.const 4)))
                (local.set $p (i32.add (local.get $p) (i32.const 3)))
                (br $taps)))
            (i32.store8 (local.get $o) (call $clip8 (local.get $s0)))
            (i32.store8 offset=1 (local.get $o) (call $clip8 (local.get $s1)))
            (i32.store8 offset=2 (local.get $o) (call $clip8 (local.get $s2)))
            (local.set $o (i32.add (local.get $o) (i32.const 3)))
            (local.set $xx (i32.add (local.get $xx) (i32.const 1)))
            (br $cols_loop)))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $rows_loop))))

  ;; output rows y0..y0+rows; `img` holds input rows from `first` on, rowLen bytes each → out (rowLen × rows)
  (func (export "vertical")
    (param $img i32) (param $rowLen i32) (param $first i32) (param $y0 i32) (param $rows i32)
    (param $kk i32) (param $bounds i32) (param $ksize i32) (param $out i32)
    (local $yy i32) (local $yend i32) (local $start i32) (local $k0 i32) (local $kend i32) (local $i i32)
    (local $k i32) (local $p i32) (local $s i32) (local $o i32)
    (local.set $o (local.get $out))
    (local.set $yy (local.get $y0))
    (local.set $yend (i32.add (local.get $y0) (local.get $rows)))
    (block $rows_done
      (loop $rows_loop
        (br_if $rows_done (i32.ge_u (local.get $yy) (local.get $yend)))
        (local.set $start (i32.add (local.get $img)
          (i32.mul (i32.sub (i32.load (i32.add (local.get $bounds) (i32.shl (local.get $yy) (i32.const 3)))) (local.get $first)) (local.get $rowLen))))
        (local.set $k0 (i32.add (local.get $kk) (i32.shl (i32.mul (local.get $yy) (local.get $ksize)) (i32.const 2))))
        (local.set $kend (i32.add (local.get $k0)
          (i32.shl (i32.load offset=4 (i32.add (local.get $bounds) (i32.shl (local.get $yy) (i32.const 3)))) (i32.const 2))))
        (local.set $i (i32.const 0))
        (block $cols_done
          (loop $cols_loop
            (br_if $cols_done (i32.ge_u (local.get $i) (local.get $rowLen)))
            (local.set $s (i32.const 2097152))
            (local.set $k (local.get $k0))
            (local.set $p (i32.add (local.get $start) (local.get $i)))
            (block $taps_done
              (loop $taps
                (br_if $taps_done (i32.ge_u (local.get $k) (local.get $kend)))
                (local.set $s (i32.add (local.get $s) (i32.mul (i32.load8_u (local.get $p)) (i32.load (local.get $k)))))
                (local.set $k (i32.add (local.get $k) (i32.const 4)))
                (local.set $p (i32.add (local.get $p) (local.get $rowLen)))
                (br $taps)))
            (i32.store8 (local.get $o) (call $clip8 (local.get $s)))
            (local.set $o (i32.add (local.get $o) (i32.const 1)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $cols_loop)))
        (local.set $yy (i32.add (local.get $yy) (i32.const 1)))
        (br $rows_loop))))
)
